"""Services and EndpointSlices reduced to what DNS publishes, and the index kept in step with
informer events (slices added, relabelled and deleted; PTR entries follow)."""

from __future__ import annotations

import dns.rcode
from dns_objects import (
    ZONE,
    ask,
    endpoint,
    endpoint_slice,
    external,
    port,
    service,
    small_cluster,
    texts,
)

from kubeadmpy.dns import ClusterIndex, DnsHandler, Endpoint, Port, service_view


def test_only_ready_endpoints_count_and_a_missing_condition_means_ready() -> None:
    view = service_view(service("db", "None", port(5432)), [endpoint_slice(
        "db", endpoint("10.0.0.1", ready=None), endpoint("10.0.0.2", ready=False),
        endpoint("10.0.0.3", "Db-3"), ports=[port(5432, "PG")])])
    pg = (Port("pg", "tcp", 5432),)
    assert view.headless
    assert view.endpoints == (Endpoint("10.0.0.1", "10-0-0-1", pg), Endpoint("10.0.0.3", "db-3", pg))


def test_slices_merge_and_skip_fqdn_and_bad_addresses() -> None:
    view = service_view(service("db", "None"), [
        endpoint_slice("db", endpoint("fd00::1"), ports=[], address_type="IPv6", suffix="b"),
        endpoint_slice("db", endpoint("not-an-ip"), endpoint("10.0.0.9"), ports=[]),
        endpoint_slice("db", endpoint("example.com"), ports=[], address_type="FQDN", suffix="c")])
    assert [(e.ip, e.hostname) for e in view.endpoints] == [("10.0.0.9", "10-0-0-9"),
                                                            ("fd00::1", "fd00--1")]


def test_external_name_and_cluster_ips() -> None:
    assert service_view(external("x", "Example.COM."), []).external_name == "example.com"
    assert service_view(service("w", "10.96.0.5"), []).cluster_ips == ("10.96.0.5",)


def test_a_headless_slice_without_ports_publishes_addresses_but_no_srv() -> None:
    index = small_cluster()
    index.set_service(service("bare", "None"))
    index.set_slice(endpoint_slice("bare", endpoint("10.244.5.5"), ports=[]))
    handler = DnsHandler(index, ZONE, None)
    assert texts(ask(handler, "bare.default.svc.cluster.local")) == [
        "bare.default.svc.cluster.local. 30 IN A 10.244.5.5"]
    srv = ask(handler, "bare.default.svc.cluster.local", "SRV")
    assert srv.rcode() == dns.rcode.NOERROR and srv.answer == []


def test_a_headless_service_without_ready_endpoints_is_nxdomain_as_in_coredns() -> None:
    index = small_cluster()
    index.set_service(service("empty", "None", port(80)))
    assert ask(DnsHandler(index, ZONE, None),
               "empty.default.svc.cluster.local").rcode() == dns.rcode.NXDOMAIN


def test_slices_follow_their_label_and_deletion() -> None:
    index = ClusterIndex()
    index.set_namespace("default")
    for name in ("a", "b"):
        index.set_service(service(name, "None", port(80)))
    moving = endpoint_slice("a", endpoint("10.0.0.1"), ports=[port(80)], suffix="x")
    index.set_slice(moving)
    assert [e.ip for e in index.views[("default", "a")].endpoints] == ["10.0.0.1"]
    assert index.names_for_ip("10.0.0.1") == [("10-0-0-1", "a", "default")]
    moving["metadata"]["labels"]["kubernetes.io/service-name"] = "b"
    index.set_slice(moving)
    assert index.views[("default", "a")].endpoints == ()
    assert index.names_for_ip("10.0.0.1") == [("10-0-0-1", "b", "default")]
    index.delete_slice(moving)
    assert index.views[("default", "b")].endpoints == () and index.reverse == {}


def test_a_slice_seen_before_its_service_counts_once_the_service_arrives() -> None:
    index = ClusterIndex()
    index.set_slice(endpoint_slice("late", endpoint("10.0.0.4"), ports=[port(80)]))
    assert ("default", "late") not in index.views
    index.set_service(service("late", "None", port(80)))
    assert [e.ip for e in index.views[("default", "late")].endpoints] == ["10.0.0.4"]


def test_every_change_moves_the_generation_and_never_lowers_the_serial() -> None:
    times = iter([100.0, 200.0, 150.0])
    index = ClusterIndex(clock=lambda: next(times))
    index.set_namespace("default")
    generation, serial = index.generation, index.serial
    index.set_service(service("w", "10.96.0.5"))
    assert index.generation == generation + 1 and index.serial == serial == 200
