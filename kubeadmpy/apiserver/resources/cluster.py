"""Cluster plumbing kinds: leases, endpoint slices, storage, certificate requests and RBAC."""

from __future__ import annotations

from kubeadmpy.apiserver.resources.columns import AGE, DEFAULT_COLUMNS, NAME, dig, joined, text
from kubeadmpy.apiserver.resources.validation import required
from kubeadmpy.machinery.registry import (
    STATUS_VERBS,
    Column,
    JSONObject,
    ResourceSpec,
    Strategy,
    Subresource,
)
from kubeadmpy.machinery.status import Cause


class CSRStrategy(Strategy):
    """CSRs: spec is immutable; conditions change only through /approval, certs through /status."""

    has_status = True

    def validate(self, obj: JSONObject) -> list[Cause]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return required(None, "spec")
        return (required(spec.get("request"), "spec.request")
                + required(spec.get("signerName"), "spec.signerName"))

    def default(self, obj: JSONObject) -> None:
        spec = obj.get("spec")
        if isinstance(spec, dict):
            spec.setdefault("usages", ["digital signature", "key encipherment"])

    def initial_status(self, obj: JSONObject) -> None:
        obj["status"] = {}

    def prepare_for_update(self, new: JSONObject, old: JSONObject) -> None:
        # The spec (request and requester) is fixed at creation, as upstream.
        super().prepare_for_update(new, old)
        if "spec" in old:
            new["spec"] = old["spec"]


def _csr_condition(obj: JSONObject) -> str:
    states = [c.get("type") for c in dig(obj, "status", "conditions", default=[]) or []
              if c.get("status", "True") == "True"]
    if dig(obj, "status", "certificate") and "Approved" in states:
        states.append("Issued")
    return ",".join(str(s) for s in states) or "Pending"


class RBACStrategy(Strategy):
    name_rule = "path-segment"


def _rbac(kind: str, plural: str, singular: str, namespaced: bool,
          binding: bool) -> ResourceSpec:
    columns: tuple[Column, ...] = DEFAULT_COLUMNS
    if binding:
        columns = (NAME, text("Role", lambda o, _: f"{dig(o, 'roleRef', 'kind', default='')}/"
                              f"{dig(o, 'roleRef', 'name', default='')}"), AGE,
                   text("Users", lambda o, _: joined(
                       s.get("name") for s in o.get("subjects") or [] if s.get("kind") == "User"),
                        1),
                   text("Groups", lambda o, _: joined(
                       s.get("name") for s in o.get("subjects") or []
                       if s.get("kind") == "Group"), 1),
                   text("ServiceAccounts", lambda o, _: joined(
                       f"{s.get('namespace', '')}/{s.get('name')}"
                       for s in o.get("subjects") or [] if s.get("kind") == "ServiceAccount"),
                        1))
    return ResourceSpec("rbac.authorization.k8s.io", "v1", kind, plural, singular, namespaced,
                        columns=columns, strategy=RBACStrategy())


CLUSTER = (
    ResourceSpec("coordination.k8s.io", "v1", "Lease", "leases", "lease", True,
                 columns=(NAME, text("Holder", lambda o, _: dig(o, "spec", "holderIdentity",
                                                                default="")), AGE)),
    ResourceSpec("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice",
                 True,
                 columns=(NAME, text("AddressType", lambda o, _: o.get("addressType", "")),
                          text("Ports", lambda o, _: joined(
                              p.get("port") for p in o.get("ports") or [])),
                          text("Endpoints", lambda o, _: joined(
                              a for e in o.get("endpoints") or []
                              for a in e.get("addresses") or [])), AGE)),
    ResourceSpec("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass",
                 False, short_names=("sc",),
                 columns=(NAME, text("Provisioner", lambda o, _: o.get("provisioner", "")),
                          text("ReclaimPolicy", lambda o, _: o.get("reclaimPolicy", "Delete")),
                          text("VolumeBindingMode",
                               lambda o, _: o.get("volumeBindingMode", "Immediate")),
                          text("AllowVolumeExpansion",
                               lambda o, _: bool(o.get("allowVolumeExpansion", False)),
                               type_="boolean"), AGE)),
    ResourceSpec("storage.k8s.io", "v1", "CSIDriver", "csidrivers", "csidriver", False,
                 columns=(NAME, text("AttachRequired", lambda o, _: bool(
                     dig(o, "spec", "attachRequired", default=True)), type_="boolean"), AGE)),
    ResourceSpec("storage.k8s.io", "v1", "CSINode", "csinodes", "csinode", False,
                 columns=(NAME, text("Drivers", lambda o, _: len(
                     dig(o, "spec", "drivers", default=[]) or []), type_="integer"), AGE)),
    ResourceSpec("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments",
                 "volumeattachment", False,
                 subresources=(Subresource("status", STATUS_VERBS),),
                 columns=(NAME, text("Attacher", lambda o, _: dig(o, "spec", "attacher",
                                                                  default="")),
                          text("PV", lambda o, _: dig(o, "spec", "source",
                                                      "persistentVolumeName", default="")),
                          text("Node", lambda o, _: dig(o, "spec", "nodeName", default="")),
                          text("Attached", lambda o, _: bool(dig(o, "status", "attached")),
                               type_="boolean"), AGE)),
    ResourceSpec("certificates.k8s.io", "v1", "CertificateSigningRequest",
                 "certificatesigningrequests", "certificatesigningrequest", False,
                 short_names=("csr",),
                 subresources=(Subresource("approval", STATUS_VERBS),
                               Subresource("status", STATUS_VERBS)),
                 columns=(NAME, AGE,
                          text("SignerName", lambda o, _: dig(o, "spec", "signerName",
                                                              default="")),
                          text("Requestor", lambda o, _: dig(o, "spec", "username",
                                                             default="")),
                          text("RequestedDuration", lambda o, _: "<none>"),
                          text("Condition", lambda o, _: _csr_condition(o))),
                 strategy=CSRStrategy()),
    _rbac("Role", "roles", "role", True, False),
    _rbac("RoleBinding", "rolebindings", "rolebinding", True, True),
    _rbac("ClusterRole", "clusterroles", "clusterrole", False, False),
    _rbac("ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", False, True),
)
