"""Builders for the API objects cluster DNS reads, an index holding a small cluster, and a helper
that sends one query through a `DnsHandler` and parses the reply."""

from __future__ import annotations

from typing import Any

import dns.message
import dns.rdatatype

from kubeadmpy.dns import ClusterIndex, DnsHandler, Zone
from kubeadmpy.dns.server import Pending

JSONObject = dict[str, Any]
ZONE = Zone.parse("cluster.local")


def service(name: str, cluster_ip: str = "10.96.0.20", *ports: JSONObject,
            namespace: str = "default", **spec: Any) -> JSONObject:
    ips = [] if cluster_ip == "None" else [cluster_ip]
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": cluster_ip, "clusterIPs": ips, "ports": list(ports), **spec}}


def port(number: int, name: str = "", protocol: str = "TCP") -> JSONObject:
    return {"port": number, "protocol": protocol, **({"name": name} if name else {})}


def external(name: str, target: str, namespace: str = "default") -> JSONObject:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"type": "ExternalName", "externalName": target}}


def endpoint(ip: str, hostname: str = "", ready: bool | None = True) -> JSONObject:
    out: JSONObject = {"addresses": [ip]}
    if hostname:
        out["hostname"] = hostname
    if ready is not None:
        out["conditions"] = {"ready": ready}
    return out


def endpoint_slice(service_name: str, *endpoints: JSONObject, ports: list[JSONObject],
                   namespace: str = "default", suffix: str = "a",
                   address_type: str = "IPv4") -> JSONObject:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{service_name}-{suffix}", "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": address_type, "endpoints": list(endpoints), "ports": ports}


def small_cluster() -> ClusterIndex:
    """web (ClusterIP, http/80 + dns/53 udp), db (headless, two ready endpoints and one not),
    ext (ExternalName outside), alias (ExternalName to web), v6 (dual-stack), kube-dns."""
    index = ClusterIndex(clock=lambda: 1700000000.0)
    for namespace in ("default", "kube-system"):
        index.set_namespace(namespace)
    index.set_service(service("web", "10.96.0.20", port(80, "http"), port(53, "dns", "UDP")))
    index.set_slice(endpoint_slice("web", endpoint("10.244.1.2"), ports=[port(8080, "http")]))
    index.set_service(service("db", "None", port(5432, "pg")))
    index.set_slice(endpoint_slice(
        "db", endpoint("10.244.1.5", "db-0"), endpoint("10.244.1.6"),
        endpoint("10.244.1.7", "db-2", ready=False), ports=[port(5432, "pg")]))
    index.set_service(external("ext", "example.com"))
    index.set_service(external("alias", "web.default.svc.cluster.local"))
    index.set_service(external("ip-ext", "192.0.2.1"))
    v6 = service("v6", "10.96.0.30", port(443, "https"), ipFamilies=["IPv4", "IPv6"])
    v6["spec"]["clusterIPs"] = ["10.96.0.30", "fd00::30"]
    index.set_service(v6)
    index.set_service(service("kube-dns", "10.96.0.10", port(53, "dns", "UDP"),
                              namespace="kube-system"))
    return index


def ask(handler: DnsHandler, name: str, rdtype: str = "A", *, tcp: bool = False,
        payload: int | None = None) -> dns.message.Message:
    query = dns.message.make_query(name, dns.rdatatype.from_text(rdtype),
                                   use_edns=payload is not None, payload=payload or 512)
    reply = handler.reply_now(query.to_wire(), tcp)
    assert isinstance(reply, bytes), f"{name} {rdtype} was not answered locally: {reply!r}"
    return dns.message.from_wire(reply)


def texts(message: dns.message.Message, section: str = "answer") -> list[str]:
    """Each record as `name ttl IN TYPE data`, sorted (rdata order is shuffled per reply)."""
    return sorted(line for rrset in getattr(message, section)
                  for line in rrset.to_text().splitlines())


def forwarded(handler: DnsHandler, name: str, rdtype: str = "A") -> bool:
    """Whether the handler hands (name, rdtype) to the upstream resolvers."""
    query = dns.message.make_query(name, dns.rdatatype.from_text(rdtype))
    reply = handler.reply_now(query.to_wire(), False)
    return isinstance(reply, Pending) and reply.answer is None
