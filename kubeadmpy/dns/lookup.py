"""Answers for names in the cluster zone, computed from the `ClusterIndex` alone.

The shape follows CoreDNS's kubernetes plugin, which implements the Kubernetes DNS
specification: a name under the zone is read right to left as `svc|pod`, namespace, service,
then either one endpoint hostname or `_port._proto`; anything longer, or a namespace or Service
that does not exist, is NXDOMAIN, so a stub resolver walking its search list (ndots:5) moves on
to the next suffix. A name that exists but has no record of the asked type is NODATA (NOERROR,
empty answer). Both carry the zone's SOA in the authority section, whose minimum is the TTL, so
resolvers cache the negative answer as long as a positive one. Reverse names are answered only
for ClusterIPs and endpoint IPs; everything else in the reverse zones, and every name outside the
zone, is marked for forwarding (kubeadm's Corefile: `fallthrough in-addr.arpa ip6.arpa`,
`forward . /etc/resolv.conf`).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import dns.exception
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.rdtypes.IN.SRV
import dns.reversename
import dns.rrset

from kubeadmpy.config.netutil import is_ip
from kubeadmpy.dns.index import EVERYTHING, ClusterIndex, Key
from kubeadmpy.dns.records import NO_PORT, ServiceView

X = TypeVar("X")
IN = dns.rdataclass.IN
T = dns.rdatatype
DNS_SCHEMA_VERSION = "1.1.0"  # the specification version CoreDNS reports at dns-version.<zone>
DNS_VERSION_TTL = 28800
# CoreDNS's SOA timers for the cluster zone; the minimum (negative-caching TTL) is the zone TTL.
SOA_REFRESH, SOA_RETRY, SOA_EXPIRE = 7200, 1800, 86400
KUBE_DNS = ("kube-system", "kube-dns")  # the Service whose ClusterIPs ns.dns.<zone> resolves to
MAX_CHASE = 8  # ExternalName → ExternalName chains inside the zone
NAMESPACE_ONLY: Key = ("", "")  # never a Service key: dropped only with EVERYTHING
REVERSE_ZONES = (dns.name.from_text("in-addr.arpa."), dns.name.from_text("ip6.arpa."))


@dataclass(frozen=True)
class Zone:
    name: dns.name.Name  # absolute, e.g. cluster.local.
    ttl: int = 30

    @classmethod
    def parse(cls, domain: str, ttl: int = 30) -> Zone:
        return cls(dns.name.from_text(domain.rstrip(".") + "."), ttl)


@dataclass
class Answer:
    """The sections of a reply; `forward` means the name is not ours to answer; `chase` is an
    ExternalName target outside the zone whose records should follow the CNAME."""

    rcode: dns.rcode.Rcode = dns.rcode.NOERROR
    answer: list[dns.rrset.RRset] = field(default_factory=list)
    authority: list[dns.rrset.RRset] = field(default_factory=list)
    additional: list[dns.rrset.RRset] = field(default_factory=list)
    forward: bool = False
    chase: dns.name.Name | None = None
    # What the answer depends on, for caching: one Service (namespace, name), NAMESPACE_ONLY,
    # or EVERYTHING (any change may alter it).
    depends: Key = EVERYTHING


@dataclass(frozen=True)
class _Entry:
    """One record source, as CoreDNS's msg.Service: an address (or CNAME target), a port, and
    the name an SRV record points at."""

    host: str
    port: int
    target: dns.name.Name
    cname: bool = False  # `host` is an ExternalName target, not an address


class _NameError(Exception):
    """NXDOMAIN."""


def lookup(index: ClusterIndex, zone: Zone, qname: dns.name.Name, qtype: int) -> Answer:
    """The answer to (qname, qtype), class IN."""
    if qname.is_subdomain(zone.name):
        return _in_zone(index, zone, qname, qtype, 0)
    if qtype == T.PTR and any(qname.is_subdomain(z) for z in REVERSE_ZONES):
        found = _reverse(index, zone, qname)
        if found is not None:
            return found
    return Answer(forward=True)


def _labels(qname: dns.name.Name, zone: dns.name.Name) -> list[str]:
    relative = qname.relativize(zone)
    return [label.decode("latin-1").lower() for label in relative.labels if label]


def _soa(index: ClusterIndex, zone: Zone) -> dns.rrset.RRset:
    return _soa_for_serial(zone, index.serial & 0xFFFFFFFF)


@functools.lru_cache(maxsize=4)
def _soa_for_serial(zone: Zone, serial: int) -> dns.rrset.RRset:
    """Built once per serial: every negative answer carries it (treat it as read-only)."""
    mname = dns.name.Name((b"ns", b"dns", *zone.name.labels))
    rname = dns.name.Name((b"hostmaster", *zone.name.labels))
    rdata = _rdata(dns.rdtypes.ANY.SOA.SOA, T.SOA, mname, rname, serial, SOA_REFRESH, SOA_RETRY,
                   SOA_EXPIRE, zone.ttl)
    return _rrset(zone.name, zone.ttl, [rdata])


def _rdata(cls: Any, rdtype: dns.rdatatype.RdataType, *args: Any) -> dns.rdata.Rdata:
    """One record's data (dnspython's rdata constructors carry no type hints)."""
    return cast(dns.rdata.Rdata, cls(IN, rdtype, *args))


def _rrset(name: dns.name.Name, ttl: int, rdatas: list[dns.rdata.Rdata]) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(name, IN, rdatas[0].rdtype)
    for rdata in rdatas:
        rrset.add(rdata, ttl)
    return rrset


def _negative(index: ClusterIndex, zone: Zone, rcode: dns.rcode.Rcode) -> Answer:
    return Answer(rcode=rcode, authority=[_soa(index, zone)])


def _in_zone(index: ClusterIndex, zone: Zone, qname: dns.name.Name, qtype: int,
             depth: int) -> Answer:
    labels = _labels(qname, zone.name)
    answer = _in_zone_answer(index, zone, qname, qtype, labels, depth)
    cname = bool(answer.answer) and answer.answer[0].rdtype == T.CNAME
    if len(labels) >= 2 and labels[-1] == "pod":
        answer.depends = NAMESPACE_ONLY  # pods insecure: only the namespace's existence counts
    elif len(labels) >= 3 and labels[-1] == "svc" and not cname:  # a CNAME may lead anywhere
        answer.depends = (labels[-2], labels[-3])
    return answer


def _in_zone_answer(index: ClusterIndex, zone: Zone, qname: dns.name.Name, qtype: int,
                    labels: list[str], depth: int) -> Answer:
    try:
        if not labels:
            return _apex(index, zone, qname, qtype)
        if labels == ["dns-version"]:
            if qtype != T.TXT:
                return _negative(index, zone, dns.rcode.NOERROR)
            txt = _rdata(dns.rdtypes.ANY.TXT.TXT, T.TXT, [DNS_SCHEMA_VERSION.encode()])
            return Answer(answer=[_rrset(qname, DNS_VERSION_TTL, [txt])])
        entries: list[_Entry] | None
        if labels == ["ns", "dns"]:
            entries = [_Entry(ip, NO_PORT, qname) for ip in _kube_dns_ips(index)]
        else:
            entries = _entries(index, zone, labels)
    except _NameError:
        return _negative(index, zone, dns.rcode.NXDOMAIN)
    return _records(index, zone, qname, qtype, entries, depth)


def _apex(index: ClusterIndex, zone: Zone, qname: dns.name.Name, qtype: int) -> Answer:
    if qtype == T.SOA:
        soa = _soa(index, zone)
        return Answer(answer=[_rrset(qname, zone.ttl, list(soa))])
    if qtype == T.NS:
        ns_name = dns.name.Name((b"ns", b"dns", *zone.name.labels))
        ns = _rdata(dns.rdtypes.ANY.NS.NS, T.NS, ns_name)
        answer = Answer(answer=[_rrset(qname, zone.ttl, [ns])])
        answer.additional = _address_rrsets(ns_name, zone.ttl, _kube_dns_ips(index))
        return answer
    return _negative(index, zone, dns.rcode.NOERROR)


def _kube_dns_ips(index: ClusterIndex) -> tuple[str, ...]:
    view = index.view(*KUBE_DNS)
    return view.cluster_ips if view is not None else ()


def _entries(index: ClusterIndex, zone: Zone, labels: list[str]) -> list[_Entry] | None:
    """Record sources for a name under the zone; None for a name that exists without records
    (`svc`, `pod`, `<ns>.svc`, ...); raises _NameError for NXDOMAIN."""
    kind = labels[-1]
    if kind not in ("svc", "pod"):
        raise _NameError
    if len(labels) == 1:
        return None
    namespace = labels[-2]
    if namespace not in index.namespaces:
        raise _NameError
    if len(labels) == 2:
        return None
    if kind == "pod":
        return _pod(zone, labels)
    view = index.view(namespace, labels[-3])
    if view is None:
        raise _NameError
    rest = labels[:-3]
    if len(rest) > 2:
        raise _NameError
    endpoint = rest[0] if len(rest) == 1 else ""
    port, protocol = (rest[0].removeprefix("_"), rest[1].removeprefix("_")) if len(
        rest) == 2 else ("", "")
    entries = _service_entries(view, zone, endpoint, port, protocol)
    if not entries:
        raise _NameError
    return entries


def _pod(zone: Zone, labels: list[str]) -> list[_Entry]:
    """`pods insecure`: any well-formed dashed IP in an existing namespace resolves to itself."""
    if len(labels) != 3:
        raise _NameError
    dashed = labels[0]
    text = dashed.replace("-", ".") if dashed.count("-") == 3 and "--" not in dashed else (
        dashed.replace("-", ":"))
    try:
        ip = str(ipaddress.ip_address(text))
    except ValueError as exc:
        raise _NameError from exc
    return [_Entry(ip, NO_PORT, zone.name)]


def _service_entries(view: ServiceView, zone: Zone, endpoint: str, port: str,
                     protocol: str) -> list[_Entry]:
    base = dns.name.Name((view.name.encode(), view.namespace.encode(), b"svc",
                          *zone.name.labels))
    if view.external_name:
        # CoreDNS publishes nothing for an externalName that is an IP address (NXDOMAIN).
        if endpoint or is_ip(view.external_name):
            return []
        return [_Entry(view.external_name, NO_PORT, base, cname=True)]

    def matches(name: str, proto: str) -> bool:
        return (not port or port == name) and (not protocol or protocol == proto)

    if view.headless or endpoint:
        return [_Entry(e.ip, p.number, dns.name.Name((e.hostname.encode(), *base.labels)))
                for e in view.endpoints if not endpoint or e.hostname == endpoint
                for p in e.ports if matches(p.name, p.protocol)]
    return [_Entry(ip, p.number, base) for p in view.ports if matches(p.name, p.protocol)
            for ip in view.cluster_ips]


def _records(index: ClusterIndex, zone: Zone, qname: dns.name.Name, qtype: int,
             entries: list[_Entry] | None, depth: int) -> Answer:
    if not entries:
        return _negative(index, zone, dns.rcode.NOERROR)
    if entries[0].cname:
        return _cname(index, zone, qname, qtype, entries[0].host, depth)
    answer = Answer()
    if qtype in (T.A, T.AAAA):
        ips = _unique(e.host for e in entries if _family(e.host) == qtype)
        answer.answer = _address_rrsets(qname, zone.ttl, ips)
    elif qtype == T.SRV:
        srv = _unique((e.port, e.target) for e in entries if e.port != NO_PORT)
        weight = max(1, 100 // len(srv)) if srv else 0
        if srv:
            answer.answer = [_rrset(qname, zone.ttl, [
                _rdata(dns.rdtypes.IN.SRV.SRV, T.SRV, 0, weight, port, target)
                for port, target in srv])]
        for target in _unique(t for _, t in srv):
            ips = _unique(e.host for e in entries if e.target == target)
            answer.additional += _address_rrsets(target, zone.ttl, ips)
    if not answer.answer:
        return _negative(index, zone, dns.rcode.NOERROR)
    return answer


def _cname(index: ClusterIndex, zone: Zone, qname: dns.name.Name, qtype: int, target: str,
           depth: int) -> Answer:
    """An ExternalName Service: the CNAME, then the target's records when they can be had."""
    target_name = dns.name.from_text(target + ".")
    cname = _rrset(qname, zone.ttl, [_rdata(dns.rdtypes.ANY.CNAME.CNAME, T.CNAME, target_name)])
    answer = Answer(answer=[cname])
    if qtype in (T.CNAME, T.ANY):
        return answer
    if target_name.is_subdomain(zone.name):
        if depth < MAX_CHASE:
            chased = _in_zone(index, zone, target_name, qtype, depth + 1)
            answer.answer += chased.answer
            answer.additional += chased.additional
            answer.rcode = chased.rcode
            answer.authority = chased.authority
            answer.chase = chased.chase
    else:
        answer.chase = target_name
    return answer


def _reverse(index: ClusterIndex, zone: Zone, qname: dns.name.Name) -> Answer | None:
    try:
        ip = str(ipaddress.ip_address(dns.reversename.to_address(qname)))
    except (dns.exception.SyntaxError, ValueError):
        return None
    names = index.names_for_ip(ip)
    if not names:
        return None
    rdatas: list[dns.rdata.Rdata] = []
    for host, service, namespace in names:
        labels = (service.encode(), namespace.encode(), b"svc", *zone.name.labels)
        target = dns.name.Name((host.encode(), *labels) if host else labels)
        rdatas.append(_rdata(dns.rdtypes.ANY.PTR.PTR, T.PTR, target))
    return Answer(answer=[_rrset(qname, zone.ttl, rdatas)])


def _address_rrsets(name: dns.name.Name, ttl: int, ips: list[str] | tuple[str, ...]
                    ) -> list[dns.rrset.RRset]:
    v4: list[dns.rdata.Rdata] = [_rdata(dns.rdtypes.IN.A.A, T.A, ip) for ip in ips if ":" not in ip]
    v6: list[dns.rdata.Rdata] = [_rdata(dns.rdtypes.IN.AAAA.AAAA, T.AAAA, ip) for ip in ips
                                 if ":" in ip]
    return [_rrset(name, ttl, rdatas) for rdatas in (v4, v6) if rdatas]


def _family(ip: str) -> int:
    return T.AAAA if ":" in ip else T.A


def _unique(items: Iterable[X]) -> list[X]:
    """Distinct items in first-seen order (answers keep a stable order)."""
    return list(dict.fromkeys(items))
