"""Machines reach each other by name on the lab network, and nothing leaves the lab.

The seal is checked without sending anything outside: the host's drop rules exist, no
masquerading exists, name lookups of outside names fail inside the machine, and a namespace the
test itself creates outside the lab (reachable from the host) is unreachable from machines.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from kubeadmpy import lab as labs
from kubeadmpy.lab import hostnet, network

PROBE_NETNS = "kubeadmpy-lab-test-outside"  # deliberately not a lab namespace name
PROBE_HOST_LINK = "kpl-probe0"
PROBE_HOST_IP = network.SEAL_PROBE_SUBNET.network_address + 1
PROBE_IP = network.SEAL_PROBE_SUBNET.network_address + 2


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


@pytest.mark.parametrize("source,target", [("cp1", "w1"), ("w1", "w2"), ("w2", "cp1")],
                         ids=lambda value: value)
def test_machines_reach_each_other_by_name(lab: labs.Lab, source: str, target: str) -> None:
    with lab.host(source) as host:
        resolved = host.run(["getent", "hosts", target], check=True).stdout.split()
        ping = host.run(["busybox", "ping", "-c", "1", "-W", "2", target])
    assert resolved[0] == lab.machine(target).ip
    assert ping.exit_code == 0, ping.stdout + ping.stderr


def test_host_reaches_machines_from_the_bridge_address(lab: labs.Lab) -> None:
    with lab.host("cp1") as host:
        route = host.run("ip -4 route show default", check=True).stdout
    assert f"via {lab.manifest.gateway} dev eth0" in route
    addresses = json.loads(sh("ip", "-j", "-4", "addr", "show", lab.manifest.bridge).stdout)
    assert addresses[0]["addr_info"][0]["local"] == lab.manifest.gateway


def test_host_drops_forwarded_traffic_between_lab_and_other_interfaces(lab: labs.Lab) -> None:
    table = sh("nft", "list", "table", "inet", hostnet.seal_table(lab.name)).stdout
    bridge = lab.manifest.bridge
    assert f'iifname "{bridge}" oifname != "{bridge}" drop' in table
    assert f'oifname "{bridge}" iifname != "{bridge}" drop' in table


def test_no_masquerading_exists_for_the_lab_range(lab: labs.Lab) -> None:
    ruleset = sh("nft", "list", "ruleset").stdout + sh("iptables-save", check=False).stdout
    for line in ruleset.splitlines():
        if "masquerade" in line.lower() or "snat" in line.lower():
            assert "10.213." not in line and lab.manifest.bridge not in line, line


def test_outside_names_do_not_resolve_inside_a_machine(lab: labs.Lab) -> None:
    with lab.host("w1") as host:
        lookup = host.run(["getent", "hosts", "example.com"], timeout=20)
        resolv = host.get("/etc/resolv.conf").decode()
    assert lookup.exit_code != 0
    assert "nameserver 127.0.0.1" in resolv


@pytest.fixture
def outside_namespace() -> Iterator[str]:
    """A namespace outside every lab, routed from the host, standing in for 'the outside'."""
    try:
        sh("ip", "netns", "add", PROBE_NETNS)
        sh("ip", "link", "add", PROBE_HOST_LINK, "type", "veth", "peer", "name", "eth0",
           "netns", PROBE_NETNS)
        sh("ip", "addr", "add", f"{PROBE_HOST_IP}/24", "dev", PROBE_HOST_LINK)
        sh("ip", "link", "set", PROBE_HOST_LINK, "up")
        for command in (["addr", "add", f"{PROBE_IP}/24", "dev", "eth0"],
                        ["link", "set", "eth0", "up"],
                        ["route", "add", "default", "via", str(PROBE_HOST_IP)]):
            sh("ip", "-n", PROBE_NETNS, *command)
        yield str(PROBE_IP)
    finally:
        sh("ip", "link", "del", PROBE_HOST_LINK, check=False)
        sh("ip", "netns", "del", PROBE_NETNS, check=False)


def test_a_namespace_outside_the_lab_is_unreachable_from_machines(
        lab: labs.Lab, outside_namespace: str) -> None:
    host_ping = sh("busybox", "ping", "-c", "1", "-W", "2", outside_namespace, check=False)
    assert host_ping.returncode == 0, "the probe namespace must be reachable from the host"
    with lab.host("cp1") as host:
        machine_ping = host.run(["busybox", "ping", "-c", "1", "-W", "1", outside_namespace])
    assert machine_ping.exit_code != 0
