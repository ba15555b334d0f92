from __future__ import annotations

import ipaddress
import socket

import pytest

from kubeadmpy.config import detect_node_facts, service_ip
from kubeadmpy.config.netutil import (
    default_route_interface,
    interface_ipv4,
    is_dns1123_subdomain,
    split_host_port,
)


@pytest.mark.parametrize(
    ("subnet", "index", "expected"),
    [
        ("10.96.0.0/12", 1, "10.96.0.1"),
        ("10.96.0.0/12", 10, "10.96.0.10"),
        ("fd00:10:96::/108", 10, "fd00:10:96::a"),
        ("10.96.0.0/12,fd00::/108", 1, "10.96.0.1"),
    ],
    ids=["kubernetes service IP", "DNS service IP", "IPv6 DNS IP", "dual stack uses first"],
)
def test_service_ip_counts_from_the_start_of_the_first_subnet(
    subnet: str, index: int, expected: str
) -> None:
    assert service_ip(subnet, index) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cp.example.com", ("cp.example.com", None)),
        ("cp.example.com:8443", ("cp.example.com", 8443)),
        ("10.0.0.10:6443", ("10.0.0.10", 6443)),
        ("[fd00::1]:6443", ("fd00::1", 6443)),
        ("fd00::1", ("fd00::1", None)),
    ],
)
def test_split_host_port_reads_every_endpoint_form(
    text: str, expected: tuple[str, int | None]
) -> None:
    assert split_host_port(text) == expected


@pytest.mark.parametrize("text", ["host:0", "host:99999", "host:abc", "[fd00::1"])
def test_split_host_port_rejects_bad_ports_and_brackets(text: str) -> None:
    with pytest.raises(ValueError):
        split_host_port(text)


@pytest.mark.parametrize(
    ("name", "valid"),
    [("node-1", True), ("a.b.c", True), ("Node", False), ("-x", False), ("x_y", False),
     ("a" * 64, False), ("", False)],
)
def test_dns1123_subdomain(name: str, valid: bool) -> None:
    assert is_dns1123_subdomain(name) is valid


ROUTE_TABLE = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth1\t00000000\t010200C0\t0003\t0\t0\t200\t00000000\t0\t0\t0
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


def test_default_route_with_lowest_metric_wins() -> None:
    assert default_route_interface(ROUTE_TABLE) == "eth0"


def test_no_default_route_means_no_interface() -> None:
    assert default_route_interface(ROUTE_TABLE.splitlines()[0] + "\n") is None


def test_loopback_address_is_read_from_the_kernel() -> None:
    assert interface_ipv4("lo") == "127.0.0.1"


def test_detected_advertise_address_is_an_address_of_this_machine() -> None:
    facts = detect_node_facts()
    assert facts.hostname == socket.gethostname()
    if facts.advertise_address is not None:
        ours = {interface_ipv4(name) for _, name in socket.if_nameindex()}
        assert facts.advertise_address in ours
        assert not ipaddress.ip_address(facts.advertise_address).is_loopback
