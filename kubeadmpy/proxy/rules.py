"""The whole `ip kube-proxy` nftables table as text: a pure function of the service ports.

The layout follows upstream kube-proxy's nftables mode, so `nft list table ip kube-proxy` reads
the same to someone who knows it:

* `nat-prerouting`/`nat-output` jump to `services`, which looks up
  `daddr . l4proto . dport` in the `service-ips` verdict map (ClusterIPs) and, for traffic to
  one of the node's own addresses (`fib daddr type local`, loopback excluded), `l4proto . dport`
  in `service-nodeports`;
* a `service-*` chain per service port picks an endpoint with `numgen random mod N vmap`, and
  marks for masquerading traffic from outside --cluster-cidr;
* an `endpoint-*` chain per endpoint DNATs, marking hairpin traffic (a pod reaching itself);
* `nat-postrouting` masquerades marked packets and clears the mark;
* filter chains at priority -110 (before DNAT) reject new connections to service ports without
  endpoints (`no-endpoint-services`/`no-endpoint-nodeports`, icmp port-unreachable as upstream's
  `reject`), and (after DNAT) to ClusterIPs on ports no Service has.

Every sync renders the complete table and `nft -f -` replaces it in one transaction, so this
module has no notion of "what changed".
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from kubeadmpy.proxy.model import Endpoint, ServicePort

TABLE = "kube-proxy"
FAMILY = "ip"
# Before DNAT (nat hooks run at -100), so filter rules still see the ClusterIP as daddr.
FILTER_PRIORITY = -110
POST_DNAT_PRIORITY = -90
DEFAULT_MASQUERADE_BIT = 14


@dataclass(frozen=True)
class RuleSettings:
    node_name: str
    cluster_cidr: str = ""  # traffic from outside it to a ClusterIP is masqueraded
    masquerade_bit: int = DEFAULT_MASQUERADE_BIT
    masquerade_all: bool = False

    @property
    def mark(self) -> str:
        return hex(1 << self.masquerade_bit)


def _hash(text: str) -> str:
    """8 stable characters that keep chain names unique whatever the readable part holds."""
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:8]


def _port_id(port: ServicePort) -> str:
    # Namespaces, Service names and port names are DNS labels / IANA service names, so chain
    # names built from them need no quoting (nft 1.0 accepts "/", "." and "-" in bare names).
    return (f"{port.namespace}/{port.name}/{port.protocol.lower()}/"
            f"{port.port_name or port.port}")


def service_chain(port: ServicePort) -> str:
    ident = _port_id(port)
    return f"service-{_hash(ident)}-{ident}"


def external_chain(port: ServicePort) -> str:
    ident = _port_id(port)
    return f"external-{_hash(ident)}-{ident}"


def endpoint_chain(port: ServicePort, endpoint: Endpoint) -> str:
    ident = f"{_port_id(port)}__{endpoint.ip}/{endpoint.port}"
    return f"endpoint-{_hash(ident)}-{ident}"


def affinity_set(port: ServicePort, endpoint: Endpoint) -> str:
    ident = f"{_port_id(port)}__{endpoint.ip}/{endpoint.port}"
    return f"affinity-{_hash(ident)}-{ident}"


class _Table:
    """Collects sets, maps and chains, then prints them as one `table` block."""

    def __init__(self) -> None:
        self.blocks: list[str] = []

    def chain(self, name: str, rules: Iterable[str], hook: str = "") -> None:
        body = [f"\t\t{hook}"] if hook else []
        body += [f"\t\t{rule}" for rule in rules]
        self.blocks.append(f"\tchain {name} {{\n" + "".join(b + "\n" for b in body)
                           + "\t}")

    def collection(self, kind: str, name: str, header: list[str], elements: list[str]) -> None:
        lines = [f"\t\t{h}" for h in header]
        if elements:
            lines.append("\t\telements = { " + ",\n\t\t\t     ".join(elements) + " }")
        self.blocks.append(f"\t{kind} {name} {{\n" + "".join(x + "\n" for x in lines)
                           + "\t}")

    def text(self) -> str:
        body = "\n".join(self.blocks)
        return f'table {FAMILY} {TABLE} {{\n\tcomment "rules for kube-proxy"\n{body}\n}}\n'


def _dispatch(chains: list[str]) -> str:
    """Pick one of `chains` uniformly at random (upstream's `numgen random mod N vmap`)."""
    entries = ", ".join(f"{i} : goto {c}" for i, c in enumerate(chains))
    return f"numgen random mod {len(chains)} vmap {{ {entries} }}"


def _selected(port: ServicePort, local: bool, settings: RuleSettings) -> tuple[Endpoint, ...]:
    if not local:
        return port.endpoints
    return tuple(e for e in port.endpoints if e.node_name == settings.node_name)


def _endpoint_rules(port: ServicePort, endpoint: Endpoint) -> list[str]:
    rules = [f"ip saddr {endpoint.ip} jump mark-for-masquerade"]  # hairpin: pod to itself
    if port.affinity_seconds:
        rules.append(f"update @{affinity_set(port, endpoint)} {{ ip saddr }}")
    rules.append(f"meta l4proto {port.protocol.lower()} dnat to {endpoint.ip}:{endpoint.port}")
    return rules


def _balance_rules(port: ServicePort, endpoints: tuple[Endpoint, ...], match: str = ""
                   ) -> list[str]:
    rules = []
    if port.affinity_seconds:  # a client seen recently goes back to the same endpoint
        rules += [f"{match}ip saddr @{affinity_set(port, e)} goto "
                  f"{endpoint_chain(port, e)}" for e in endpoints]
    rules.append(match + _dispatch([endpoint_chain(port, e) for e in endpoints]))
    return rules


def _service_rules(port: ServicePort, settings: RuleSettings,
                   endpoints: tuple[Endpoint, ...]) -> list[str]:
    match = f"ip daddr {port.cluster_ip} {port.protocol.lower()} dport {port.port}"
    rules = []
    if settings.masquerade_all:
        rules.append(f"{match} jump mark-for-masquerade")
    elif settings.cluster_cidr:
        rules.append(f"{match} ip saddr != {settings.cluster_cidr} jump mark-for-masquerade")
    return rules + _balance_rules(port, endpoints)


def _external_rules(port: ServicePort, settings: RuleSettings) -> list[str]:
    """NodePort traffic: masqueraded and sent to any endpoint (Cluster policy), or kept to this
    node's endpoints with the client's address preserved (Local policy; pods, as upstream's
    "short-circuit pod traffic", and the node's own traffic still go to any endpoint)."""
    if not port.external_local:
        return ["jump mark-for-masquerade", *_balance_rules(port, port.endpoints)]
    pods = (_balance_rules(port, port.endpoints, f"ip saddr {settings.cluster_cidr} ")
            if settings.cluster_cidr else [])
    return [*pods, "fib saddr type local jump mark-for-masquerade",
            *_balance_rules(port, port.endpoints, "fib saddr type local "),
            *_balance_rules(port, _selected(port, True, settings))]


def _base_chains(table: _Table, settings: RuleSettings) -> None:
    table.chain("filter-input", ["ct state new jump nodeport-endpoints-check",
                                 "ct state new jump service-endpoints-check"],
                f"type filter hook input priority {FILTER_PRIORITY}; policy accept;")
    # Forwarded packets were DNATted in prerouting already; locally sent ones are DNATted in
    # output at -100, so the ClusterIP port check for them sits after it (-90): only traffic
    # that no Service port rewrote still has a ClusterIP as daddr there.
    table.chain("filter-forward", ["ct state new jump service-endpoints-check",
                                   "ct state new jump cluster-ips-check"],
                f"type filter hook forward priority {FILTER_PRIORITY}; policy accept;")
    table.chain("filter-output", ["ct state new jump service-endpoints-check"],
                f"type filter hook output priority {FILTER_PRIORITY}; policy accept;")
    table.chain("filter-output-post-dnat", ["ct state new jump cluster-ips-check"],
                f"type filter hook output priority {POST_DNAT_PRIORITY}; policy accept;")
    table.chain("nodeport-endpoints-check", [
        "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport "
        "vmap @no-endpoint-nodeports"])
    table.chain("service-endpoints-check",
                ["ip daddr . meta l4proto . th dport vmap @no-endpoint-services"])
    table.chain("cluster-ips-check", [
        'ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"'])
    table.chain("reject-chain", ['reject comment "no endpoints: icmp port-unreachable"'])
    table.chain("nat-prerouting", ["jump services"],
                "type nat hook prerouting priority dstnat; policy accept;")
    table.chain("nat-output", ["jump services"],
                "type nat hook output priority -100; policy accept;")
    table.chain("nat-postrouting", ["jump masquerading"],
                "type nat hook postrouting priority srcnat; policy accept;")
    table.chain("mark-for-masquerade", [f"meta mark set meta mark | {settings.mark}"])
    table.chain("masquerading", [f"meta mark & {settings.mark} == 0 return",
                                 f"meta mark set meta mark ^ {settings.mark}",
                                 "masquerade fully-random"])
    table.chain("services", [
        "ip daddr . meta l4proto . th dport vmap @service-ips",
        "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport "
        "vmap @service-nodeports"])


def render(ports: Iterable[ServicePort], settings: RuleSettings) -> str:
    """The complete `table ip kube-proxy { ... }` block for these service ports.

    A map key (ClusterIP . proto . port, or proto . NodePort) is given to the first service port
    that claims it, in the stable order of `ports`: the API server never hands one out twice,
    but caches can briefly hold an old and a new owner, and a duplicate element would make nft
    refuse the whole transaction, i.e. every sync until the caches agree.
    """
    ports = list(ports)
    table = _Table()
    _base_chains(table, settings)
    by_ip: dict[str, tuple[str, str]] = {}  # key → (map, verdict)
    by_node_port: dict[str, tuple[str, str]] = {}
    endpoints_seen: set[str] = set()
    for port in ports:
        proto, svc = port.protocol.lower(), service_chain(port)
        ip_key = f"{port.cluster_ip} . {proto} . {port.port}"
        if ip_key in by_ip:
            continue
        internal = _selected(port, port.internal_local, settings)
        if internal:
            by_ip[ip_key] = ("service-ips", f"goto {svc}")
            table.chain(svc, _service_rules(port, settings, internal))
        else:  # upstream: reject when there are none at all, drop when only local ones lack
            by_ip[ip_key] = ("no-endpoint-services",
                             "drop" if port.endpoints else "goto reject-chain")
        np_key = f"{proto} . {port.node_port}"
        if port.node_port and np_key not in by_node_port:
            if _selected(port, port.external_local, settings):
                by_node_port[np_key] = ("service-nodeports", f"goto {external_chain(port)}")
                table.chain(external_chain(port), _external_rules(port, settings))
            else:
                by_node_port[np_key] = ("no-endpoint-nodeports",
                                        "drop" if port.endpoints else "goto reject-chain")
        for endpoint in port.endpoints:
            chain = endpoint_chain(port, endpoint)
            if chain in endpoints_seen:
                continue
            endpoints_seen.add(chain)
            table.chain(chain, _endpoint_rules(port, endpoint))
            if port.affinity_seconds:
                table.collection("set", affinity_set(port, endpoint), [
                    "type ipv4_addr", "flags dynamic,timeout",
                    f"timeout {port.affinity_seconds}s"], [])
    cluster_ips = sorted({p.cluster_ip for p in ports})
    table.collection("set", "cluster-ips", ["type ipv4_addr", 'comment "Active ClusterIPs"'],
                     cluster_ips)
    ip_map = "type ipv4_addr . inet_proto . inet_service : verdict"
    port_map = "type inet_proto . inet_service : verdict"
    for name, header, owners in (("service-ips", ip_map, by_ip),
                                 ("service-nodeports", port_map, by_node_port),
                                 ("no-endpoint-services", ip_map, by_ip),
                                 ("no-endpoint-nodeports", port_map, by_node_port)):
        table.collection("map", name, [header], [f"{key} : {verdict}" for key, (owner, verdict)
                                                 in owners.items() if owner == name])
    return table.text()


def replace_script(table_text: str) -> str:
    """One `nft -f` transaction that drops the old table (if any) and creates the new one:
    `table` creates it when missing so `delete` cannot fail, and nothing is applied unless all of
    it is."""
    return f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n{table_text}"


def delete_script() -> str:
    """Remove the table, whether or not it exists (`--cleanup`)."""
    return f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n"
