"""What the proxy programs, reduced from Services and EndpointSlices to plain frozen values.

kube-proxy thinks in *service ports* (namespace/name:port-name/protocol), not Services: each
port of a Service is proxied on its own, with the endpoints the EndpointSlices list for a port
of that name and protocol. Reducing the raw API objects here keeps the ruleset generator a pure
function of these values and the node's settings, and keeps every API-shape rule (headless
Services skipped, only ready endpoints, IPv4 only since the table is `ip`) in one place.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

JSONObject = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
PROTOCOLS = ("TCP", "UDP", "SCTP")
# Upstream's default ClientIP affinity (3 hours), used when sessionAffinityConfig is absent.
DEFAULT_AFFINITY_SECONDS = 10800


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    port: int
    node_name: str = ""


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service, with its ready endpoints (sorted, deduplicated)."""

    namespace: str
    name: str
    port_name: str
    protocol: str  # TCP, UDP or SCTP
    cluster_ip: str
    port: int
    node_port: int = 0
    endpoints: tuple[Endpoint, ...] = ()
    affinity_seconds: int = 0  # 0: no session affinity
    internal_local: bool = False  # internalTrafficPolicy: Local
    external_local: bool = False  # externalTrafficPolicy: Local

    @property
    def key(self) -> str:
        """The upstream ServicePortName spelling, `ns/name:port` (`ns/name` for unnamed)."""
        base = f"{self.namespace}/{self.name}"
        return f"{base}:{self.port_name}" if self.port_name else base


def _is_ipv4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def _cluster_ipv4(spec: JSONObject) -> str:
    """The Service's IPv4 ClusterIP, or "" for headless, ExternalName or IPv6-only Services."""
    if spec.get("type") == "ExternalName":
        return ""
    candidates = list(spec.get("clusterIPs") or []) or [spec.get("clusterIP") or ""]
    return next((ip for ip in candidates if _is_ipv4(str(ip))), "")


def _affinity_seconds(spec: JSONObject) -> int:
    if spec.get("sessionAffinity") != "ClientIP":
        return 0
    config = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
    seconds = config.get("timeoutSeconds")
    return int(seconds) if isinstance(seconds, int) and seconds > 0 else DEFAULT_AFFINITY_SECONDS


def _ready(endpoint: JSONObject) -> bool:
    # A missing `ready` condition means ready (discovery.k8s.io/v1 API documentation).
    ready = (endpoint.get("conditions") or {}).get("ready")
    return ready is None or bool(ready)


def slice_endpoints(slices: Iterable[JSONObject], port_name: str, protocol: str
                    ) -> tuple[Endpoint, ...]:
    """The ready IPv4 endpoints the slices give for the port named `port_name`/`protocol`."""
    found: set[Endpoint] = set()
    for piece in slices:
        if piece.get("addressType") != "IPv4":
            continue
        ports = [p for p in piece.get("ports") or []
                 if (p.get("name") or "") == port_name
                 and (p.get("protocol") or "TCP") == protocol and p.get("port")]
        for slice_port in ports:
            for endpoint in piece.get("endpoints") or []:
                if not _ready(endpoint):
                    continue
                for address in (endpoint.get("addresses") or [])[:1]:
                    if _is_ipv4(str(address)):
                        found.add(Endpoint(str(address), int(slice_port["port"]),
                                           str(endpoint.get("nodeName") or "")))
    return tuple(sorted(found))


def service_ports(service: JSONObject, slices: Iterable[JSONObject]) -> list[ServicePort]:
    """Every proxied port of one Service (none for headless/ExternalName/IPv6-only ones)."""
    meta, spec = service.get("metadata") or {}, service.get("spec") or {}
    cluster_ip = _cluster_ipv4(spec)
    if not cluster_ip:
        return []
    slices = list(slices)
    has_node_ports = spec.get("type") in ("NodePort", "LoadBalancer")
    result = []
    for port in spec.get("ports") or []:
        protocol = str(port.get("protocol") or "TCP")
        if protocol not in PROTOCOLS or not port.get("port"):
            continue
        port_name = str(port.get("name") or "")
        result.append(ServicePort(
            namespace=str(meta.get("namespace") or ""), name=str(meta.get("name") or ""),
            port_name=port_name, protocol=protocol, cluster_ip=cluster_ip,
            port=int(port["port"]),
            node_port=int(port.get("nodePort") or 0) if has_node_ports else 0,
            endpoints=slice_endpoints(slices, port_name, protocol),
            affinity_seconds=_affinity_seconds(spec),
            internal_local=spec.get("internalTrafficPolicy") == "Local",
            external_local=spec.get("externalTrafficPolicy") == "Local"))
    return result


def slice_service_key(piece: JSONObject) -> str:
    """`namespace/service` an EndpointSlice belongs to ("" when it has no service label)."""
    meta = piece.get("metadata") or {}
    service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return f"{meta.get('namespace') or ''}/{service}" if service else ""


def all_service_ports(services: Iterable[JSONObject], slices: Iterable[JSONObject]
                      ) -> list[ServicePort]:
    """Every proxied port of every Service, in a stable order (namespace, name, port)."""
    by_service: dict[str, list[JSONObject]] = {}
    for piece in slices:
        key = slice_service_key(piece)
        if key:
            by_service.setdefault(key, []).append(piece)
    result: list[ServicePort] = []
    for service in services:
        meta = service.get("metadata") or {}
        key = f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"
        result.extend(service_ports(service, by_service.get(key, [])))
    return sorted(result, key=lambda p: (p.namespace, p.name, p.port_name, p.protocol))
