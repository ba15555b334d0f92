"""core/v1 resources: table entries and the strategies of kinds with rules of their own."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace
from typing import Any

from kubeadmpy.apiserver.resources.columns import (
    AGE,
    NAME,
    dig,
    joined,
    text,
)
from kubeadmpy.apiserver.resources.pods import PODS
from kubeadmpy.apiserver.resources.services import SERVICES
from kubeadmpy.apiserver.resources.validation import (
    immutable,
    required,
    string_map,
)
from kubeadmpy.machinery.registry import (
    STATUS_VERBS,
    JSONObject,
    ResourceSpec,
    Strategy,
    Subresource,
)
from kubeadmpy.machinery.status import Cause

STATUS = Subresource("status", STATUS_VERBS)
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

# --- namespaces -------------------------------------------------------------------------------


class NamespaceStrategy(Strategy):
    has_status = True
    name_rule = "label"
    field_labels = ("status.phase",)

    def default(self, obj: JSONObject) -> None:
        meta = obj.setdefault("metadata", {})
        if meta.get("name"):
            labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
            meta["labels"] = {**(labels or {}), "kubernetes.io/metadata.name": meta["name"]}
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            spec.setdefault("finalizers", ["kubernetes"])

    def initial_status(self, obj: JSONObject) -> None:
        obj["status"] = {"phase": "Active"}

    def selectable_fields(self, obj: JSONObject) -> dict[str, str]:
        return {"status.phase": dig(obj, "status", "phase", default="")}

    def begin_delete(self, obj: JSONObject, grace_seconds: int | None) -> bool:
        obj.setdefault("status", {})["phase"] = "Terminating"
        return bool(dig(obj, "spec", "finalizers"))

    def ready_to_vanish(self, obj: JSONObject) -> bool:
        return not dig(obj, "spec", "finalizers")


NAMESPACES = ResourceSpec(
    "", "v1", "Namespace", "namespaces", "namespace", False, short_names=("ns",),
    verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    subresources=(STATUS, Subresource("finalize", ("update",))),
    columns=(NAME, text("Status", lambda o, _: dig(o, "status", "phase", default="")), AGE),
    strategy=NamespaceStrategy())

# --- nodes ------------------------------------------------------------------------------------


class NodeStrategy(Strategy):
    has_status = True
    field_labels = ("spec.unschedulable",)

    def prepare_for_create(self, obj: JSONObject) -> None:
        """Kubelets register their node with its status: keep it (upstream does too)."""

    def selectable_fields(self, obj: JSONObject) -> dict[str, str]:
        return {"spec.unschedulable": str(bool(dig(obj, "spec", "unschedulable"))).lower()}


def _node_status(node: JSONObject) -> str:
    state = "Unknown"
    for condition in dig(node, "status", "conditions", default=[]) or []:
        if condition.get("type") == "Ready":
            state = {"True": "Ready", "False": "NotReady"}.get(condition.get("status"), "Unknown")
    if dig(node, "spec", "unschedulable"):
        state += ",SchedulingDisabled"
    return state


def _node_roles(node: JSONObject) -> str:
    labels = node["metadata"].get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels
                   if k.startswith("node-role.kubernetes.io/") and "/" in k)
    if labels.get("kubernetes.io/role"):
        roles.append(labels["kubernetes.io/role"])
    return joined(roles)


def _node_address(node: JSONObject, kind: str) -> str:
    for address in dig(node, "status", "addresses", default=[]) or []:
        if address.get("type") == kind:
            return str(address.get("address"))
    return "<none>"


NODES = ResourceSpec(
    "", "v1", "Node", "nodes", "node", False, short_names=("no",),
    subresources=(STATUS, Subresource("proxy", ("create", "delete", "get", "patch", "update"),
                                      kind="NodeProxyOptions")),
    columns=(NAME, text("Status", lambda o, _: _node_status(o)),
             text("Roles", lambda o, _: _node_roles(o)), AGE,
             text("Version", lambda o, _: dig(o, "status", "nodeInfo", "kubeletVersion",
                                              default="")),
             text("Internal-IP", lambda o, _: _node_address(o, "InternalIP"), 1),
             text("External-IP", lambda o, _: _node_address(o, "ExternalIP"), 1),
             text("OS-Image", lambda o, _: dig(o, "status", "nodeInfo", "osImage",
                                               default="<unknown>"), 1),
             text("Kernel-Version", lambda o, _: dig(o, "status", "nodeInfo", "kernelVersion",
                                                     default="<unknown>"), 1),
             text("Container-Runtime", lambda o, _: dig(o, "status", "nodeInfo",
                                                        "containerRuntimeVersion",
                                                        default="<unknown>"), 1)),
    strategy=NodeStrategy())

# --- configmaps and secrets -------------------------------------------------------------------


def _validate_keys(data: Any, path: str) -> list[Cause]:
    causes = string_map(data, path)
    for key in (data or {}) if isinstance(data, dict) else ():
        if not _CONFIG_KEY.match(key) or len(key) > 253:
            causes.append(Cause("FieldValueInvalid", f'Invalid value: "{key}": a valid config '
                                "key must consist of alphanumeric characters, '-', '_' or '.'",
                                f"{path}[{key}]"))
    return causes


class ConfigMapStrategy(Strategy):
    def validate(self, obj: JSONObject) -> list[Cause]:
        causes = _validate_keys(obj.get("data"), "data")
        causes += _validate_keys(obj.get("binaryData"), "binaryData")
        return causes

    def validate_update(self, new: JSONObject, old: JSONObject) -> list[Cause]:
        causes = self.validate(new)
        if old.get("immutable"):
            causes += immutable(new.get("data"), old.get("data"), "data")
            causes += immutable(new.get("binaryData"), old.get("binaryData"), "binaryData")
        return causes


class SecretStrategy(Strategy):
    field_labels = ("type",)

    def default(self, obj: JSONObject) -> None:
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):
            current = obj.get("data")
            data: dict[str, Any] = current if isinstance(current, dict) else {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data

    def validate(self, obj: JSONObject) -> list[Cause]:
        causes = _validate_keys(obj.get("data"), "data")
        for key, value in (obj.get("data") or {}).items() if isinstance(obj.get("data"),
                                                                         dict) else ():
            try:
                base64.b64decode(str(value), validate=True)
            except (binascii.Error, ValueError):
                causes.append(Cause("FieldValueInvalid", "Invalid value: illegal base64 data",
                                    f"data[{key}]"))
        return causes

    def validate_update(self, new: JSONObject, old: JSONObject) -> list[Cause]:
        causes = self.validate(new) + immutable(new.get("type"), old.get("type"), "type")
        if old.get("immutable"):
            causes += immutable(new.get("data"), old.get("data"), "data")
        return causes

    def selectable_fields(self, obj: JSONObject) -> dict[str, str]:
        return {"type": str(obj.get("type", ""))}


CONFIGMAPS = ResourceSpec("", "v1", "ConfigMap", "configmaps", "configmap", True,
                          short_names=("cm",),
                          columns=(NAME, text("Data", lambda o, _: len(o.get("data") or {})
                                              + len(o.get("binaryData") or {}), type_="integer"),
                                   AGE),
                          strategy=ConfigMapStrategy())
SECRETS = ResourceSpec("", "v1", "Secret", "secrets", "secret", True,
                       columns=(NAME, text("Type", lambda o, _: o.get("type", "")),
                                text("Data", lambda o, _: len(o.get("data") or {}),
                                     type_="integer"), AGE),
                       strategy=SecretStrategy())

# --- the rest of core/v1 ----------------------------------------------------------------------


class EventStrategy(Strategy):
    field_labels = ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                    "involvedObject.uid", "involvedObject.apiVersion",
                    "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                    "reportingComponent", "source", "type")

    def selectable_fields(self, obj: JSONObject) -> dict[str, str]:
        involved = obj.get("involvedObject") or {}
        fields = {f"involvedObject.{k}": str(involved.get(k, ""))
                  for k in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion",
                            "fieldPath")}
        fields.update({"reason": str(obj.get("reason", "")),
                       "reportingComponent": str(obj.get("reportingComponent", "")),
                       "source": str(dig(obj, "source", "component", default="")),
                       "type": str(obj.get("type", ""))})
        return fields


def _event_object(event: JSONObject) -> str:
    involved = event.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def _last_seen(event: JSONObject, now: float) -> str:
    from kubeadmpy.machinery.objects import human_duration, parse_rfc3339
    stamp = (event.get("lastTimestamp") or event.get("eventTime")
             or event["metadata"].get("creationTimestamp"))
    return human_duration(now - parse_rfc3339(stamp)) if stamp else "<unknown>"


EVENTS = ResourceSpec(
    "", "v1", "Event", "events", "event", True, short_names=("ev",),
    columns=(text("Last Seen", _last_seen), text("Type", lambda o, _: o.get("type", "")),
             text("Reason", lambda o, _: o.get("reason", "")),
             text("Object", lambda o, _: _event_object(o)),
             text("Message", lambda o, _: o.get("message", "")),
             text("Count", lambda o, _: o.get("count", 1), 1, "integer"),
             replace(NAME, priority=1)),
    strategy=EventStrategy())


def _endpoints_text(obj: JSONObject) -> str:
    out = []
    for subset in obj.get("subsets") or []:
        for address in subset.get("addresses") or []:
            for port in subset.get("ports") or [{}]:
                out.append(f"{address.get('ip')}:{port.get('port')}" if port else
                           str(address.get("ip")))
    return ",".join(out) or "<none>"


def _pv_columns() -> tuple[Any, ...]:
    return (NAME, text("Capacity", lambda o, _: dig(o, "spec", "capacity", "storage",
                                                    default="")),
            text("Access Modes", lambda o, _: joined(dig(o, "spec", "accessModes"), "")),
            text("Reclaim Policy", lambda o, _: dig(o, "spec", "persistentVolumeReclaimPolicy",
                                                    default="")),
            text("Status", lambda o, _: dig(o, "status", "phase", default="")),
            text("Claim", lambda o, _: "/".join(filter(None, (
                dig(o, "spec", "claimRef", "namespace"), dig(o, "spec", "claimRef", "name"))))),
            text("StorageClass", lambda o, _: dig(o, "spec", "storageClassName", default="")),
            AGE)


class PersistentVolumeStrategy(Strategy):
    has_status = True

    def default(self, obj: JSONObject) -> None:
        spec = obj.get("spec")
        if isinstance(spec, dict):
            spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
            spec.setdefault("volumeMode", "Filesystem")

    def initial_status(self, obj: JSONObject) -> None:
        obj["status"] = {"phase": "Pending"}


class ClaimStrategy(Strategy):
    has_status = True

    def default(self, obj: JSONObject) -> None:
        spec = obj.get("spec")
        if isinstance(spec, dict):
            spec.setdefault("volumeMode", "Filesystem")

    def initial_status(self, obj: JSONObject) -> None:
        obj["status"] = {"phase": "Pending"}

    def validate(self, obj: JSONObject) -> list[Cause]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return required(None, "spec")
        return (required(spec.get("accessModes"), "spec.accessModes")
                + required(dig(spec, "resources", "requests", "storage"),
                           "spec.resources[storage]"))

    def validate_update(self, new: JSONObject, old: JSONObject) -> list[Cause]:
        new_spec = {k: v for k, v in (new.get("spec") or {}).items()
                    if k not in ("resources", "volumeName")}
        old_spec = {k: v for k, v in (old.get("spec") or {}).items()
                    if k not in ("resources", "volumeName")}
        return self.validate(new) + immutable(new_spec, old_spec, "spec")


CORE = (
    NAMESPACES, PODS, NODES, SERVICES, CONFIGMAPS, SECRETS, EVENTS,
    ResourceSpec("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True,
                 short_names=("sa",),
                 subresources=(Subresource("token", ("create",), "authentication.k8s.io", "v1",
                                           "TokenRequest"),),
                 columns=(NAME, text("Secrets", lambda o, _: len(o.get("secrets") or []),
                                     type_="integer"), AGE)),
    ResourceSpec("", "v1", "Endpoints", "endpoints", "endpoints", True, short_names=("ep",),
                 columns=(NAME, text("Endpoints", lambda o, _: _endpoints_text(o)), AGE)),
    ResourceSpec("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", False,
                 short_names=("pv",), subresources=(STATUS,), columns=_pv_columns(),
                 strategy=PersistentVolumeStrategy()),
    ResourceSpec("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims",
                 "persistentvolumeclaim", True, short_names=("pvc",), subresources=(STATUS,),
                 columns=(NAME, text("Status", lambda o, _: dig(o, "status", "phase",
                                                                default="")),
                          text("Volume", lambda o, _: dig(o, "spec", "volumeName", default="")),
                          text("Capacity", lambda o, _: dig(o, "status", "capacity", "storage",
                                                            default="")),
                          text("Access Modes", lambda o, _: joined(
                              dig(o, "status", "accessModes"), "")),
                          text("StorageClass", lambda o, _: dig(o, "spec", "storageClassName",
                                                                default="")), AGE),
                 strategy=ClaimStrategy()),
)
