"""Record computation for cluster names, as the DNS specification and CoreDNS's kubernetes plugin
answer them: each record type, NXDOMAIN against NODATA (both with the zone's SOA), case, and the
names a pod's resolver tries while walking its search list."""

from __future__ import annotations

import dns.flags
import dns.rcode
import pytest
from dns_objects import (
    ZONE,
    ask,
    endpoint,
    endpoint_slice,
    forwarded,
    port,
    service,
    small_cluster,
    texts,
)

from kubeadmpy.dns import DnsHandler, Zone
from kubeadmpy.dns.index import CHANGE_LOG, EVERYTHING

SOA = ("cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 "
       "7200 1800 86400 30")
S = "default.svc.cluster.local."

POSITIVE = [
    ("a ClusterIP Service has an A record with its ClusterIP",
     "web.default.svc.cluster.local", "A", [f"web.{S} 30 IN A 10.96.0.20"]),
    ("names are matched without regard to case and answered in the asker's case",
     "WEB.Default.SVC.Cluster.Local", "A", ["WEB.Default.SVC.Cluster.Local. 30 IN A 10.96.0.20"]),
    ("a dual-stack Service has an AAAA record with its IPv6 ClusterIP",
     "v6.default.svc.cluster.local", "AAAA", [f"v6.{S} 30 IN AAAA fd00::30"]),
    ("a headless Service has one A record per ready endpoint",
     "db.default.svc.cluster.local", "A",
     [f"db.{S} 30 IN A 10.244.1.5", f"db.{S} 30 IN A 10.244.1.6"]),
    ("a named port has an SRV record pointing at the Service name",
     "_http._tcp.web.default.svc.cluster.local", "SRV",
     [f"_http._tcp.web.{S} 30 IN SRV 0 100 80 web.{S}"]),
    ("a UDP port is found under _udp",
     "_dns._udp.web.default.svc.cluster.local", "SRV",
     [f"_dns._udp.web.{S} 30 IN SRV 0 100 53 web.{S}"]),
    ("an SRV query for the Service itself lists every port",
     "web.default.svc.cluster.local", "SRV",
     [f"web.{S} 30 IN SRV 0 50 53 web.{S}", f"web.{S} 30 IN SRV 0 50 80 web.{S}"]),
    ("a headless port has one SRV record per endpoint, by hostname or dashed IP",
     "_pg._tcp.db.default.svc.cluster.local", "SRV",
     [f"_pg._tcp.db.{S} 30 IN SRV 0 50 5432 10-244-1-6.db.{S}",
      f"_pg._tcp.db.{S} 30 IN SRV 0 50 5432 db-0.db.{S}"]),
    ("an endpoint hostname has an A record",
     "db-0.db.default.svc.cluster.local", "A", [f"db-0.db.{S} 30 IN A 10.244.1.5"]),
    ("an endpoint without hostname is found by its dashed IP",
     "10-244-1-6.db.default.svc.cluster.local", "A", [f"10-244-1-6.db.{S} 30 IN A 10.244.1.6"]),
    ("an ExternalName Service is a CNAME",
     "ext.default.svc.cluster.local", "CNAME", [f"ext.{S} 30 IN CNAME example.com."]),
    ("an ExternalName inside the zone is followed to its records",
     "alias.default.svc.cluster.local", "A",
     [f"alias.{S} 30 IN CNAME web.{S}", f"web.{S} 30 IN A 10.96.0.20"]),
    ("a dashed IPv4 pod name resolves to that IP (pods insecure)",
     "10-244-3-4.default.pod.cluster.local", "A",
     ["10-244-3-4.default.pod.cluster.local. 30 IN A 10.244.3.4"]),
    ("a dashed IPv6 pod name resolves to that IP",
     "fd00--5.default.pod.cluster.local", "AAAA",
     ["fd00--5.default.pod.cluster.local. 30 IN AAAA fd00::5"]),
    ("a ClusterIP has a PTR record to its Service",
     "20.0.96.10.in-addr.arpa", "PTR", [f"20.0.96.10.in-addr.arpa. 30 IN PTR web.{S}"]),
    ("an IPv6 ClusterIP has a PTR record in ip6.arpa",
     "0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", "PTR",
     [f"0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. 30 IN PTR "
      f"v6.{S}"]),
    ("an endpoint IP has a PTR record to its hostname",
     "5.1.244.10.in-addr.arpa", "PTR", [f"5.1.244.10.in-addr.arpa. 30 IN PTR db-0.db.{S}"]),
    ("the zone apex has the SOA", "cluster.local", "SOA", [SOA]),
    ("the zone apex names ns.dns as its server", "cluster.local", "NS",
     ["cluster.local. 30 IN NS ns.dns.cluster.local."]),
    ("ns.dns resolves to the kube-dns Service", "ns.dns.cluster.local", "A",
     ["ns.dns.cluster.local. 30 IN A 10.96.0.10"]),
    ("dns-version reports the specification version", "dns-version.cluster.local", "TXT",
     ['dns-version.cluster.local. 28800 IN TXT "1.1.0"']),
]


@pytest.mark.parametrize(("name", "rdtype", "expected"), [c[1:] for c in POSITIVE],
                         ids=[c[0] for c in POSITIVE])
def test_answer(name: str, rdtype: str, expected: list[str]) -> None:
    reply = ask(DnsHandler(small_cluster(), ZONE, None), name, rdtype)
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.flags & dns.flags.AA and reply.flags & dns.flags.RA
    assert texts(reply) == sorted(expected)
    assert reply.authority == []


NEGATIVE = [
    ("a Service that does not exist is NXDOMAIN",
     "nope.default.svc.cluster.local", "A", dns.rcode.NXDOMAIN),
    ("a namespace that does not exist is NXDOMAIN",
     "web.nowhere.svc.cluster.local", "A", dns.rcode.NXDOMAIN),
    ("an existing namespace without a Service name is NODATA",
     "default.svc.cluster.local", "A", dns.rcode.NOERROR),
    ("svc itself is NODATA", "svc.cluster.local", "A", dns.rcode.NOERROR),
    ("a record type a Service does not have is NODATA",
     "web.default.svc.cluster.local", "AAAA", dns.rcode.NOERROR),
    ("MX for a Service is NODATA", "web.default.svc.cluster.local", "MX", dns.rcode.NOERROR),
    ("a port the Service does not have is NXDOMAIN",
     "_nope._tcp.web.default.svc.cluster.local", "SRV", dns.rcode.NXDOMAIN),
    ("a port under the wrong protocol is NXDOMAIN",
     "_http._udp.web.default.svc.cluster.local", "SRV", dns.rcode.NXDOMAIN),
    ("a not-ready endpoint's hostname is NXDOMAIN",
     "db-2.db.default.svc.cluster.local", "A", dns.rcode.NXDOMAIN),
    ("a name with too many labels is NXDOMAIN",
     "a.b.c.web.default.svc.cluster.local", "A", dns.rcode.NXDOMAIN),
    ("a label other than svc or pod under the zone is NXDOMAIN",
     "web.default.nodes.cluster.local", "A", dns.rcode.NXDOMAIN),
    ("a pod name that is not a dashed IP is NXDOMAIN",
     "not-an-ip.default.pod.cluster.local", "A", dns.rcode.NXDOMAIN),
    ("a pod in a namespace that does not exist is NXDOMAIN",
     "10-244-3-4.nowhere.pod.cluster.local", "A", dns.rcode.NXDOMAIN),
    ("an IPv4 pod name asked for AAAA is NODATA",
     "10-244-3-4.default.pod.cluster.local", "AAAA", dns.rcode.NOERROR),
    ("SRV for a pod is NODATA", "10-244-3-4.default.pod.cluster.local", "SRV",
     dns.rcode.NOERROR),
    ("an endpoint name under an ExternalName Service is NXDOMAIN",
     "x.ext.default.svc.cluster.local", "A", dns.rcode.NXDOMAIN),
    ("the apex asked for A is NODATA", "cluster.local", "A", dns.rcode.NOERROR),
    ("an ExternalName that is an IP address publishes nothing, as in CoreDNS",
     "ip-ext.default.svc.cluster.local", "A", dns.rcode.NXDOMAIN),
]


@pytest.mark.parametrize(("name", "rdtype", "rcode"), [c[1:] for c in NEGATIVE],
                         ids=[c[0] for c in NEGATIVE])
def test_negative_answer_carries_the_soa(name: str, rdtype: str, rcode: dns.rcode.Rcode
                                         ) -> None:
    reply = ask(DnsHandler(small_cluster(), ZONE, None), name, rdtype)
    assert reply.rcode() == rcode
    assert reply.answer == []
    assert texts(reply, "authority") == [SOA]


SEARCH = [
    # What a pod in namespace `default` (search default.svc.cluster.local svc.cluster.local
    # cluster.local, ndots:5) asks, in order, when it looks up these names.
    ("web", ["web.default.svc.cluster.local"]),
    ("web.default", ["web.default.default.svc.cluster.local", "web.default.svc.cluster.local"]),
    ("web.default.svc", ["web.default.svc.default.svc.cluster.local",
                         "web.default.svc.svc.cluster.local", "web.default.svc.cluster.local"]),
    ("kube-dns.kube-system", ["kube-dns.kube-system.default.svc.cluster.local",
                              "kube-dns.kube-system.svc.cluster.local"]),
]


@pytest.mark.parametrize(("short", "tried"), SEARCH,
                         ids=[f"{s} is found after NXDOMAIN for the earlier suffixes"
                              for s, _ in SEARCH])
def test_search_list_walk_ends_at_the_right_name(short: str, tried: list[str]) -> None:
    handler = DnsHandler(small_cluster(), ZONE, None)
    *misses, hit = tried
    for name in misses:
        assert ask(handler, name).rcode() == dns.rcode.NXDOMAIN, name
    reply = ask(handler, hit)
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer, hit


def test_an_outside_name_walked_through_the_search_list_is_nxdomain_until_forwarded() -> None:
    handler = DnsHandler(small_cluster(), ZONE, None)
    for suffix in ("default.svc.cluster.local", "svc.cluster.local", "cluster.local"):
        assert ask(handler, f"example.com.{suffix}").rcode() == dns.rcode.NXDOMAIN


def test_changes_from_the_informers_show_in_the_next_answer() -> None:
    index = small_cluster()
    handler = DnsHandler(index, ZONE, None)
    assert texts(ask(handler, "db.default.svc.cluster.local")) == [
        f"db.{S} 30 IN A 10.244.1.5", f"db.{S} 30 IN A 10.244.1.6"]
    index.set_slice(endpoint_slice("db", endpoint("10.244.2.9", "db-0"), ports=[port(5432)]))
    assert texts(ask(handler, "db.default.svc.cluster.local")) == [f"db.{S} 30 IN A 10.244.2.9"]
    assert texts(ask(handler, "9.2.244.10.in-addr.arpa", "PTR")) == [
        f"9.2.244.10.in-addr.arpa. 30 IN PTR db-0.db.{S}"]
    # the cached reply for web is dropped when web changes
    assert texts(ask(handler, "web.default.svc.cluster.local")) == [f"web.{S} 30 IN A 10.96.0.20"]
    index.set_service(service("web", "10.96.0.99", port(80, "http")))
    assert texts(ask(handler, "web.default.svc.cluster.local")) == [f"web.{S} 30 IN A 10.96.0.99"]
    index.delete_service(service("web"))
    assert ask(handler, "web.default.svc.cluster.local").rcode() == dns.rcode.NXDOMAIN
    assert forwarded(handler, "99.0.96.10.in-addr.arpa", "PTR")  # not ours any more


def test_a_namespace_created_later_turns_nxdomain_into_nodata() -> None:
    index = small_cluster()
    handler = DnsHandler(index, ZONE, None)
    assert ask(handler, "team.svc.cluster.local").rcode() == dns.rcode.NXDOMAIN
    index.set_namespace("team")
    reply = ask(handler, "team.svc.cluster.local")
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer == []


def test_another_cluster_domain_is_served_and_cluster_local_is_not_ours() -> None:
    handler = DnsHandler(small_cluster(), Zone.parse("corp.example", ttl=5), None)
    assert texts(ask(handler, "web.default.svc.corp.example")) == [
        "web.default.svc.corp.example. 5 IN A 10.96.0.20"]
    assert forwarded(handler, "web.default.svc.cluster.local")


def test_a_change_drops_only_the_cached_replies_that_depend_on_it() -> None:
    index = small_cluster()
    handler = DnsHandler(index, ZONE, None)
    questions = [("web.default.svc.cluster.local", "A"), ("v6.default.svc.cluster.local", "AAAA"),
                 ("nope.default.svc.cluster.local", "A"), ("10-1-2-3.default.pod.cluster.local", "A"),
                 ("20.0.96.10.in-addr.arpa", "PTR"), ("alias.default.svc.cluster.local", "A")]
    before = [texts(ask(handler, *q)) for q in questions]
    assert handler.cached_replies == 6

    index.set_slice(endpoint_slice("db", endpoint("10.244.2.9"), ports=[port(5432)]))
    # db's change spares web, v6, nope and the pod; the PTR and the CNAME are recomputed
    assert handler.cached_replies == 6 and ask(handler, *questions[0]).answer
    assert handler.cached_replies == 4
    assert [texts(ask(handler, *q)) for q in questions] == before

    index.set_service(service("nope", "10.96.0.77", port(80)))
    assert texts(ask(handler, *questions[2])) == [f"nope.{S} 30 IN A 10.96.0.77"]
    index.set_service(service("web", "10.96.0.78", port(80)))
    assert texts(ask(handler, *questions[5])) == [f"alias.{S} 30 IN CNAME web.{S}",
                                                  f"web.{S} 30 IN A 10.96.0.78"]
    index.set_namespace("team")  # namespaces decide NXDOMAIN everywhere: all is dropped
    ask(handler, *questions[3])
    assert handler.cached_replies == 1


def test_a_consumer_too_far_behind_the_change_log_starts_over() -> None:
    index = small_cluster()
    start = index.generation
    index.set_service(service("web", "10.96.0.99", port(80)))
    assert index.changes_since(start) == {("default", "web")}
    for i in range(CHANGE_LOG + 1):
        index.set_service(service(f"s{i}", "10.96.1.1"))
    assert index.changes_since(start) == {EVERYTHING}
    assert index.changes_since(index.generation) == set()
