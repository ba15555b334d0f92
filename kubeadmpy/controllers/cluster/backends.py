"""Which pods back a Service and on which ports (pure functions for endpoints and slices).

Facts from upstream: only Services with a selector are managed; a pod counts once it has an IP
and is not finished; its address is ready when its Ready condition is True (or always, with
`publishNotReadyAddresses`); a named `targetPort` is looked up among the pod's container ports
(same name and protocol), a number is used as is, and no targetPort means the service port.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeadmpy.controllers.cluster.common import (
    JSONObject,
    condition,
    meta,
    name_of,
    namespace_of,
    spec,
    status,
)

HEADLESS_LABEL = "service.kubernetes.io/headless"


def selector_of(service: Mapping[str, Any]) -> dict[str, str] | None:
    """The Service's selector; None (unmanaged) when it has none or is an ExternalName
    Service (a DNS alias has no endpoints)."""
    if spec(service).get("type") == "ExternalName":
        return None
    selector = spec(service).get("selector")
    if not isinstance(selector, dict) or not selector:
        return None
    return {str(k): str(v) for k, v in selector.items()}


def selects(selector: Mapping[str, str], pod: Mapping[str, Any]) -> bool:
    labels = meta(pod).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def is_ready(pod: Mapping[str, Any]) -> bool:
    ready = condition(pod, "Ready")
    return ready is not None and ready.get("status") == "True"


def pod_ips(pod: Mapping[str, Any]) -> list[str]:
    ips = [str(entry.get("ip")) for entry in status(pod).get("podIPs") or []
           if isinstance(entry, dict) and entry.get("ip")]
    if not ips and status(pod).get("podIP"):
        ips = [str(status(pod)["podIP"])]
    return ips


def ip_family(ip: str) -> str:
    """Pod IPs come validated from the API server: only IPv6 text contains ':'."""
    return "IPv6" if ":" in ip else "IPv4"


def service_families(service: Mapping[str, Any]) -> list[str]:
    """The Service's IP families, primary first (from spec.ipFamilies, else its cluster IP;
    a headless Service without either serves both)."""
    families = [str(f) for f in spec(service).get("ipFamilies") or []]
    if families:
        return families
    cluster_ip = str(spec(service).get("clusterIP") or "")
    if cluster_ip and cluster_ip != "None":
        return [ip_family(cluster_ip)]
    return ["IPv4", "IPv6"]


def is_candidate(pod: Mapping[str, Any]) -> bool:
    """Has an address and is not finished (Succeeded/Failed pods never serve again)."""
    return bool(pod_ips(pod)) and status(pod).get("phase") not in ("Succeeded", "Failed")


def resolve_target_port(service_port: Mapping[str, Any], pod: Mapping[str, Any]) -> int | None:
    target = service_port.get("targetPort")
    protocol = service_port.get("protocol") or "TCP"
    if target is None or target == "":
        return int(service_port["port"])
    if isinstance(target, int):
        return target
    if str(target).isdigit():
        return int(target)
    for container in spec(pod).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


@dataclass(frozen=True)
class EndpointPort:
    name: str
    port: int
    protocol: str
    app_protocol: str = ""

    def as_api(self) -> JSONObject:
        out: JSONObject = {"name": self.name, "port": self.port, "protocol": self.protocol}
        if not self.name:
            out.pop("name")
        if self.app_protocol:
            out["appProtocol"] = self.app_protocol
        return out


def pod_ports(service: Mapping[str, Any], pod: Mapping[str, Any]) -> tuple[EndpointPort, ...]:
    """The service's ports as this pod serves them; ports the pod lacks are left out."""
    ports = []
    for service_port in spec(service).get("ports") or []:
        number = resolve_target_port(service_port, pod)
        if number is not None:
            ports.append(EndpointPort(str(service_port.get("name") or ""), number,
                                      str(service_port.get("protocol") or "TCP"),
                                      str(service_port.get("appProtocol") or "")))
    return tuple(ports)


def target_ref(pod: Mapping[str, Any]) -> JSONObject:
    return {"kind": "Pod", "namespace": namespace_of(pod), "name": name_of(pod),
            "uid": meta(pod).get("uid", "")}


def managed_labels(service: Mapping[str, Any]) -> dict[str, str]:
    """The Service's labels plus the headless marker, as upstream copies them."""
    labels = {str(k): str(v) for k, v in (meta(service).get("labels") or {}).items()}
    labels.pop(HEADLESS_LABEL, None)
    if spec(service).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    return labels


def pod_targets(obj: Mapping[str, Any], entries: list[Any]) -> list[str]:
    """`namespace/name` of every pod an Endpoints/EndpointSlice entry list refers to."""
    namespace = namespace_of(obj)
    return sorted({f"{namespace}/{ref.get('name')}" for entry in entries
                   if isinstance(entry, dict)
                   for ref in [entry.get("targetRef") or {}] if ref.get("kind") == "Pod"})
