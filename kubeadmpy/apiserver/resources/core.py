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
    selector_text,
    text,
)
from kubeadmpy.apiserver.resources.podspec import default_pod_spec, validate_pod_spec
from kubeadmpy.apiserver.resources.validation import (
    immutable,
    one_of,
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

# --- pods -------------------------------------------------------------------------------------


def _qos_class(spec: JSONObject) -> str:
    requests_set = limits_set = False
    guaranteed = True
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        requests_set |= bool(requests)
        limits_set |= bool(limits)
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                guaranteed = False
    if not requests_set and not limits_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


class PodStrategy(Strategy):
    has_status = True
    field_labels = ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                    "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                    "status.podIP", "status.nominatedNodeName")

    def default(self, obj: JSONObject) -> None:
        if isinstance(obj.get("spec"), dict):
            default_pod_spec(obj["spec"])

    def initial_status(self, obj: JSONObject) -> None:
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        obj["status"] = {"phase": "Pending", "qosClass": _qos_class(spec or {})}

    def validate(self, obj: JSONObject) -> list[Cause]:
        return validate_pod_spec(obj.get("spec"), "spec")

    def validate_update(self, new: JSONObject, old: JSONObject) -> list[Cause]:
        causes = self.validate(new)

        def without_images(spec: Any) -> Any:
            if not isinstance(spec, dict):
                return spec
            out = dict(spec)
            for key in ("containers", "initContainers"):
                out[key] = [{k: v for k, v in c.items() if k != "image"}
                            for c in spec.get(key) or [] if isinstance(c, dict)]
            out.pop("activeDeadlineSeconds", None)
            out.pop("tolerations", None)
            return out

        if without_images(new.get("spec")) != without_images(old.get("spec")):
            causes.append(Cause("FieldValueForbidden", "Forbidden: pod updates may not change "
                                "fields other than `spec.containers[*].image`, "
                                "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds` "
                                "or `spec.tolerations` (only additions to existing tolerations)",
                                "spec"))
        return causes

    def selectable_fields(self, obj: JSONObject) -> dict[str, str]:
        spec, stat = obj.get("spec") or {}, obj.get("status") or {}
        return {"spec.nodeName": spec.get("nodeName", ""),
                "spec.restartPolicy": spec.get("restartPolicy", ""),
                "spec.schedulerName": spec.get("schedulerName", ""),
                "spec.serviceAccountName": spec.get("serviceAccountName", ""),
                "spec.hostNetwork": str(bool(spec.get("hostNetwork", False))).lower(),
                "status.phase": stat.get("phase", ""),
                "status.podIP": stat.get("podIP", ""),
                "status.nominatedNodeName": stat.get("nominatedNodeName", "")}

    def begin_delete(self, obj: JSONObject, grace_seconds: int | None) -> bool:
        spec, stat = obj.get("spec") or {}, obj.get("status") or {}
        if grace_seconds is None:
            grace_seconds = int(spec.get("terminationGracePeriodSeconds", 30))
        if grace_seconds < 0:
            grace_seconds = 1
        if not spec.get("nodeName") or stat.get("phase") in ("Succeeded", "Failed") \
                or grace_seconds == 0:
            return False
        obj["metadata"]["deletionGracePeriodSeconds"] = grace_seconds
        return True

    def ready_to_vanish(self, obj: JSONObject) -> bool:
        return not obj["metadata"].get("deletionGracePeriodSeconds")


def _pod_status_text(pod: JSONObject) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    stat = pod.get("status") or {}
    reason = stat.get("reason") or stat.get("phase") or "Unknown"
    for container in stat.get("containerStatuses") or []:
        waiting = dig(container, "state", "waiting", "reason")
        terminated = dig(container, "state", "terminated", "reason")
        if waiting:
            reason = waiting
        elif terminated and reason == "Running":
            reason = terminated
    return str(reason)


def _pod_ready(pod: JSONObject) -> str:
    total = len(dig(pod, "spec", "containers", default=[]) or [])
    ready = sum(1 for c in dig(pod, "status", "containerStatuses", default=[]) or []
                if c.get("ready"))
    return f"{ready}/{total}"


def _pod_restarts(pod: JSONObject) -> int:
    return sum(int(c.get("restartCount", 0))
               for c in dig(pod, "status", "containerStatuses", default=[]) or [])


PODS = ResourceSpec(
    "", "v1", "Pod", "pods", "pod", True, short_names=("po",), categories=("all",),
    subresources=(STATUS, Subresource("binding", ("create",), kind="Binding"),
                  Subresource("eviction", ("create",), "policy", "v1", "Eviction"),
                  Subresource("log", ("get",), kind="Pod"),
                  Subresource("exec", ("create", "get"), kind="PodExecOptions"),
                  Subresource("attach", ("create", "get"), kind="PodAttachOptions"),
                  Subresource("portforward", ("create", "get"), kind="PodPortForwardOptions")),
    columns=(NAME, text("Ready", lambda o, _: _pod_ready(o)),
             text("Status", lambda o, _: _pod_status_text(o)),
             text("Restarts", lambda o, _: _pod_restarts(o), type_="integer"), AGE,
             text("IP", lambda o, _: dig(o, "status", "podIP", default="<none>"), 1),
             text("Node", lambda o, _: dig(o, "spec", "nodeName", default="<none>"), 1),
             text("Nominated Node",
                  lambda o, _: dig(o, "status", "nominatedNodeName", default="<none>"), 1),
             text("Readiness Gates", lambda o, _: "<none>", 1)),
    strategy=PodStrategy())

# --- namespaces -------------------------------------------------------------------------------


class NamespaceStrategy(Strategy):
    has_status = True
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

# --- services ---------------------------------------------------------------------------------


class ServiceStrategy(Strategy):
    has_status = True

    def default(self, obj: JSONObject) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])

    def initial_status(self, obj: JSONObject) -> None:
        obj["status"] = {"loadBalancer": {}}

    def validate(self, obj: JSONObject) -> list[Cause]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return required(None, "spec")
        causes = one_of(spec.get("type"), ("ClusterIP", "NodePort", "LoadBalancer",
                                           "ExternalName"), "spec.type")
        ports = spec.get("ports") or []
        if not ports and spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None":
            causes += required(None, "spec.ports")
        names: set[str] = set()
        for index, port in enumerate(ports):
            number = port.get("port") if isinstance(port, dict) else None
            if not isinstance(number, int) or not 0 < number < 65536:
                causes.append(Cause("FieldValueInvalid", f"Invalid value: {number}: must be "
                                    "between 1 and 65535, inclusive", f"spec.ports[{index}].port"))
            if isinstance(port, dict):
                causes += one_of(port.get("protocol"), ("TCP", "UDP", "SCTP"),
                                 f"spec.ports[{index}].protocol")
                if len(ports) > 1 and not port.get("name"):
                    causes += required(None, f"spec.ports[{index}].name")
                if port.get("name") in names:
                    causes.append(Cause("FieldValueDuplicate",
                                        f'Duplicate value: "{port["name"]}"',
                                        f"spec.ports[{index}].name"))
                names.add(str(port.get("name")))
        causes += string_map(spec.get("selector"), "spec.selector")
        return causes

    def prepare_for_update(self, new: JSONObject, old: JSONObject) -> None:
        super().prepare_for_update(new, old)
        spec, old_spec = new.get("spec"), old.get("spec") or {}
        if isinstance(spec, dict):
            for key in ("clusterIP", "clusterIPs"):
                if not spec.get(key) and old_spec.get(key):
                    spec[key] = old_spec[key]

    def validate_update(self, new: JSONObject, old: JSONObject) -> list[Cause]:
        return self.validate(new) + immutable(dig(new, "spec", "clusterIP"),
                                              dig(old, "spec", "clusterIP"), "spec.clusterIP")

    async def before_create(self, obj: JSONObject, env: Any) -> None:
        spec = obj["spec"]
        if spec.get("type") == "ExternalName":
            return
        claimed_ports: list[int] = []
        try:
            if spec.get("type") in ("NodePort", "LoadBalancer"):
                for index, port in enumerate(spec.get("ports") or []):
                    claimed_ports.append(await env.allocate_node_port(
                        port.get("nodePort") or None, f"spec.ports[{index}].nodePort"))
                    port["nodePort"] = claimed_ports[-1]
            if spec.get("clusterIP") != "None":
                spec["clusterIP"] = await env.allocate_cluster_ip(spec.get("clusterIP") or None)
                spec["clusterIPs"] = [spec["clusterIP"]]
        except BaseException:
            # Give back only what this request claimed, never a port someone else holds.
            for claimed in claimed_ports:
                await env.release_node_port(claimed)
            raise

    async def after_delete(self, obj: JSONObject, env: Any) -> None:
        """Release what `before_create` took (also when a create failed half-way)."""
        ip = dig(obj, "spec", "clusterIP")
        if ip and ip != "None":
            await env.release_cluster_ip(ip)
        for port in dig(obj, "spec", "ports", default=[]) or []:
            if isinstance(port, dict) and port.get("nodePort"):
                await env.release_node_port(int(port["nodePort"]))


def _service_ports(svc: JSONObject) -> str:
    parts = []
    for port in dig(svc, "spec", "ports", default=[]) or []:
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        parts.append(f"{port.get('port')}{node}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _external_ip(svc: JSONObject) -> str:
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return str(spec.get("externalName", "<none>"))
    ingress = [i.get("ip") or i.get("hostname")
               for i in dig(svc, "status", "loadBalancer", "ingress", default=[]) or []]
    ips = list(spec.get("externalIPs") or []) + ingress
    if ips:
        return ",".join(ips)
    return "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"


SERVICES = ResourceSpec(
    "", "v1", "Service", "services", "service", True, short_names=("svc",), categories=("all",),
    subresources=(STATUS, Subresource("proxy", ("create", "delete", "get", "patch", "update"),
                                      kind="ServiceProxyOptions")),
    columns=(NAME, text("Type", lambda o, _: dig(o, "spec", "type", default="")),
             text("Cluster-IP", lambda o, _: dig(o, "spec", "clusterIP", default="<none>")),
             text("External-IP", lambda o, _: _external_ip(o)),
             text("Port(s)", lambda o, _: _service_ports(o)), AGE,
             text("Selector", lambda o, _: selector_text(dig(o, "spec", "selector")), 1)),
    strategy=ServiceStrategy())

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
