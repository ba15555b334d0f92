"""What DNS can say about one Service, reduced from the raw Service and its EndpointSlices.

The DNS specification (kubernetes/dns `docs/specification.md`) and CoreDNS's kubernetes plugin
answer from three facts per Service: its ClusterIPs (none when headless), its ExternalName, its
ports; and, per ready endpoint, an address, a hostname and the slice's ports. Reducing the API
objects to a frozen `ServiceView` here keeps every API-shape rule in one place (a missing `ready`
condition means ready; an endpoint without a hostname is named by its dashed IP, as CoreDNS does;
a slice without ports still publishes its addresses) and lets the lookup code work on plain values.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

JSONObject = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
NO_PORT = -1  # CoreDNS's sentinel for a slice that lists no ports: addresses, but no SRV


@dataclass(frozen=True, order=True)
class Port:
    name: str  # lower-cased: DNS names compare case-insensitively
    protocol: str  # lower-cased: tcp, udp, sctp
    number: int


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    hostname: str  # the slice's hostname, or the dashed IP (10-244-1-2)
    ports: tuple[Port, ...]


@dataclass(frozen=True)
class ServiceView:
    namespace: str
    name: str
    cluster_ips: tuple[str, ...] = ()  # empty for headless and ExternalName Services
    external_name: str = ""
    ports: tuple[Port, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()  # ready endpoints only, sorted

    @property
    def headless(self) -> bool:
        return not self.cluster_ips and not self.external_name


def dashed(ip: str) -> str:
    """CoreDNS's hostname for an endpoint that has none: dots (or colons) become dashes."""
    return ip.replace(".", "-") if "." in ip else ip.replace(":", "-")


def _valid_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""


def _ports(raw: Iterable[Any]) -> tuple[Port, ...]:
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("port"), int):
            continue
        out.append(Port(str(item.get("name") or "").lower(),
                        str(item.get("protocol") or "TCP").lower(), item["port"]))
    return tuple(sorted(set(out)))


def _ready(endpoint: JSONObject) -> bool:
    # discovery.k8s.io/v1: a nil `ready` must be read as ready. The EndpointSlice controller
    # already reports ready=true for Services with publishNotReadyAddresses.
    ready = (endpoint.get("conditions") or {}).get("ready")
    return ready is None or bool(ready)


def slice_endpoints(endpoint_slice: JSONObject) -> list[Endpoint]:
    """The ready endpoints of one EndpointSlice, each with the slice's ports."""
    if endpoint_slice.get("addressType") not in ("IPv4", "IPv6"):
        return []  # FQDN slices carry no addresses DNS could publish
    ports = _ports(endpoint_slice.get("ports") or ()) or (Port("", "", NO_PORT),)
    out = []
    for endpoint in endpoint_slice.get("endpoints") or ():
        if not isinstance(endpoint, dict) or not _ready(endpoint):
            continue
        hostname = str(endpoint.get("hostname") or "").lower()
        for address in endpoint.get("addresses") or ():
            ip = _valid_ip(str(address))
            if ip:
                out.append(Endpoint(ip, hostname or dashed(ip), ports))
    return out


def service_view(service: JSONObject, slices: Iterable[JSONObject]) -> ServiceView:
    """The Service as DNS sees it; `slices` are those labelled with its name."""
    meta = service.get("metadata") or {}
    spec = service.get("spec") or {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    if spec.get("type") == "ExternalName":
        target = str(spec.get("externalName") or "").rstrip(".").lower()
        return ServiceView(namespace, name, external_name=target)
    candidates = spec.get("clusterIPs") or [spec.get("clusterIP") or ""]
    cluster_ips = tuple(ip for ip in (_valid_ip(str(c)) for c in candidates) if ip)
    endpoints: set[Endpoint] = set()
    for endpoint_slice in slices:
        endpoints.update(slice_endpoints(endpoint_slice))
    return ServiceView(namespace, name, cluster_ips=cluster_ips,
                       ports=_ports(spec.get("ports") or ()), endpoints=tuple(sorted(endpoints)))


def slice_service_name(endpoint_slice: JSONObject) -> str:
    """The Service a slice belongs to (its `kubernetes.io/service-name` label), or ""."""
    labels = (endpoint_slice.get("metadata") or {}).get("labels") or {}
    return str(labels.get(SERVICE_NAME_LABEL) or "")
