"""NodeRestriction admission: a kubelet may change only its own Node and the pods bound to it.

Upstream's rules (plugin/pkg/admission/noderestriction), for requests from system:node:<name>:
- pods: create only mirror pods bound to itself that reference no secrets, configmaps, PVCs or
  service account tokens, owned by nothing but its Node; delete, update status and evict only
  pods bound to itself;
- nodes: create/update/delete only its own Node; no labels under node-restriction.kubernetes.io/
  nor other kubernetes.io / k8s.io labels outside the kubelet's allowed set; taints may be set at
  creation but not changed afterwards; no spec.configSource;
- leases: only its own Lease in kube-node-lease; csinodes: only its own;
- serviceaccounts/token: only tokens bound to a pod running on itself.
A refusal raises `AdmissionDenied` carrying upstream's message (HTTP 403).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.security.identity import UserInfo, node_name_of
from kubeadmpy.security.node_graph import is_mirror_pod, pod_references

RESTRICTED_LABEL_DOMAIN = "node-restriction.kubernetes.io"
KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os",
    "beta.kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
    "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "node.kubernetes.io/instance-type", "node.kubernetes.io/windows-build",
})
KUBELET_LABEL_DOMAINS = ("kubelet.kubernetes.io", "node.kubernetes.io")

PodGetter = Callable[[str, str], Mapping[str, Any] | None]


class AdmissionDenied(KubeadmpyError):
    """An admission plugin refused the request: HTTP `code` (403 Forbidden unless stated)."""

    def __init__(self, message: str, code: int = 403) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class AdmissionRequest:
    user: UserInfo
    operation: str  # CREATE, UPDATE, DELETE, CONNECT
    resource: str
    subresource: str = ""
    api_group: str = ""
    namespace: str = ""
    name: str = ""
    obj: Mapping[str, Any] | None = None
    old_obj: Mapping[str, Any] | None = None


def _label_domain(key: str) -> str:
    return key.split("/", 1)[0] if "/" in key else ""


def is_kubelet_settable_label(key: str) -> bool:
    """Upstream's allowed node labels: kubelet's own set plus anything outside k8s domains."""
    if key in KUBELET_LABELS:
        return True
    domain = _label_domain(key)
    if any(domain == d or domain.endswith("." + d) for d in KUBELET_LABEL_DOMAINS):
        return True
    return not any(domain == d or domain.endswith("." + d) for d in ("kubernetes.io", "k8s.io"))


def _restricted_label(key: str) -> bool:
    domain = _label_domain(key)
    return domain == RESTRICTED_LABEL_DOMAIN or domain.endswith("." + RESTRICTED_LABEL_DOMAIN)


@dataclass
class NodeRestriction:
    get_pod: PodGetter

    def admit(self, request: AdmissionRequest) -> None:
        node = node_name_of(request.user)
        if node is None:
            return
        if not node:
            raise AdmissionDenied("could not determine node from user "
                                  f'"{request.user.name}"')
        group, resource = request.api_group, request.resource
        if group == "" and resource == "pods":
            self._pods(node, request)
        elif group == "" and resource == "nodes":
            self._node(node, request)
        elif group == "coordination.k8s.io" and resource == "leases":
            if request.name != node and (request.obj or {}).get("metadata", {}).get(
                    "name", request.name) != node:
                raise AdmissionDenied(f'node "{node}" can only access its own lease')
            if request.namespace != "kube-node-lease":
                raise AdmissionDenied(f'node "{node}" can only access leases in kube-node-lease')
        elif group == "storage.k8s.io" and resource == "csinodes":
            name = request.name or str(((request.obj or {}).get("metadata") or {}).get("name"))
            if name != node:
                raise AdmissionDenied(f'node "{node}" is not allowed to modify object '
                                      f'"{name}"')
        elif group == "" and resource == "serviceaccounts" and request.subresource == "token":
            self._token(node, request)

    def _pods(self, node: str, request: AdmissionRequest) -> None:
        op, sub = request.operation, request.subresource
        if op == "CREATE" and not sub:
            self._mirror_pod(node, request.obj or {})
            return
        if (op, sub) in (("CREATE", "eviction"), ("DELETE", ""), ("UPDATE", "status")):
            pod = self.get_pod(request.namespace, request.name)
            if pod is None:
                return
            if str((pod.get("spec") or {}).get("nodeName", "")) != node:
                what = {"eviction": "evict", "status": "update status of"}.get(sub, "delete")
                raise AdmissionDenied(f'node "{node}" can only {what} pods with spec.nodeName '
                                      "set to itself")
            return
        raise AdmissionDenied(f'node "{node}" is not allowed to {op.lower()} pods'
                              + (f"/{sub}" if sub else ""))

    def _mirror_pod(self, node: str, pod: Mapping[str, Any]) -> None:
        if not is_mirror_pod(pod):
            raise AdmissionDenied(f'pod does not have "kubernetes.io/config.mirror" annotation, '
                                  f'node "{node}" can only create mirror pods')
        spec = pod.get("spec") or {}
        if spec.get("nodeName") != node:
            raise AdmissionDenied(f'node "{node}" can only create pods with spec.nodeName set '
                                  "to itself")
        for owner in (pod.get("metadata") or {}).get("ownerReferences") or []:
            if owner.get("kind") != "Node" or owner.get("name") != node:
                raise AdmissionDenied(f'node "{node}" can only create pods with an owner '
                                      f'reference set to itself')
        refs = pod_references(pod)
        # pod_references assumes "default"; a mirror pod may name no service account at all
        refs["serviceaccounts"] = {str(spec["serviceAccountName"])} \
            if spec.get("serviceAccountName") else set()
        names = {"secrets": "secrets", "configmaps": "configmaps",
                 "persistentvolumeclaims": "persistentvolumeclaims",
                 "serviceaccounts": "service accounts"}
        for kind, label in names.items():
            if refs[kind]:
                raise AdmissionDenied(f'node "{node}" can not create pods that reference {label}')

    def _node(self, node: str, request: AdmissionRequest) -> None:
        name = request.name or str(((request.obj or {}).get("metadata") or {}).get("name", ""))
        if name != node:
            raise AdmissionDenied(f'node "{node}" is not allowed to modify node "{name}"')
        if request.operation == "DELETE" or request.subresource == "status":
            return
        new = request.obj or {}
        if (new.get("spec") or {}).get("configSource"):
            raise AdmissionDenied(f'node "{node}" is not allowed to set spec.configSource')
        old_labels = ((request.old_obj or {}).get("metadata") or {}).get("labels") or {}
        new_labels = (new.get("metadata") or {}).get("labels") or {}
        changed = {k for k in set(old_labels) | set(new_labels)
                   if old_labels.get(k) != new_labels.get(k)}
        forbidden = sorted(k for k in changed
                           if _restricted_label(k) or not is_kubelet_settable_label(k))
        if forbidden:
            raise AdmissionDenied(f'node "{node}" is not allowed to modify labels: '
                                  + ", ".join(forbidden))
        if request.operation == "UPDATE":
            old_taints = ((request.old_obj or {}).get("spec") or {}).get("taints") or []
            new_taints = (new.get("spec") or {}).get("taints") or []
            if old_taints != new_taints:
                raise AdmissionDenied(f'node "{node}" is not allowed to modify taints')

    def _token(self, node: str, request: AdmissionRequest) -> None:
        ref = ((request.obj or {}).get("spec") or {}).get("boundObjectRef") or {}
        if ref.get("kind") != "Pod":
            raise AdmissionDenied(f'node "{node}" requested token not bound to a pod')
        pod = self.get_pod(request.namespace, str(ref.get("name", "")))
        if pod is None:
            raise AdmissionDenied(f'node "{node}" requested token bound to a pod that does '
                                  "not exist")
        if ref.get("uid") and ref.get("uid") != (pod.get("metadata") or {}).get("uid"):
            raise AdmissionDenied(f'node "{node}" requested token with a pod binding whose '
                                  "uid does not match")
        if (pod.get("spec") or {}).get("nodeName") != node:
            raise AdmissionDenied(f'node "{node}" requested token bound to a pod scheduled on '
                                  "a different node")
        if (pod.get("spec") or {}).get("serviceAccountName", "default") != request.name:
            raise AdmissionDenied(f'node "{node}" requested token for a service account the '
                                  "pod does not use")
