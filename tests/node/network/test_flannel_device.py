"""flanneld's kernel side on its own: choosing the uplink (and the errors when it cannot),
recreating an incompatible flannel.1, keeping an advertised MAC, one /32 address."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Iterator

import pytest
from flannel_netns import run, veth_namespace

from kubeadmpy.network import dataplane, netconf
from kubeadmpy.network.errors import NetworkError
from kubeadmpy.network.netlink import Kernel, Uplink

CONF = netconf.parse_net_conf(json.dumps({"Network": "10.244.0.0/16"}))
CIDR = ipaddress.IPv4Network("10.244.5.0/24")


def ip(netns: str, *args: str) -> str:
    return run("ip", *args, netns=netns).stdout


@pytest.fixture
def netns() -> Iterator[str]:
    """eth0 (10.214.2.1/24, MTU 1400) and eth1 (10.214.3.1/24); no default route."""
    with veth_namespace("dev", "10.214.2.1/24", "10.214.3.1/24", mtu=1400) as name:
        yield name


async def uplink(netns: str, *ifaces: str) -> Uplink:
    async with Kernel(netns) as kernel:
        return await kernel.find_uplink(ifaces)


def test_iface_takes_a_name_or_an_address_and_the_first_that_exists_wins(netns: str) -> None:
    by_name = asyncio.run(uplink(netns, "wlan9", "eth0"))
    assert (by_name.name, str(by_name.address), by_name.mtu) == ("eth0", "10.214.2.1", 1400)
    by_address = asyncio.run(uplink(netns, "10.214.3.1"))
    assert (by_address.name, str(by_address.address)) == ("eth1", "10.214.3.1")


def test_without_iface_the_default_routes_interface_is_used(netns: str) -> None:
    with pytest.raises(NetworkError, match=r"no default route.*pass --iface"):
        asyncio.run(uplink(netns))
    ip(netns, "route", "add", "default", "via", "10.214.3.2", "dev", "eth1")
    assert asyncio.run(uplink(netns)).name == "eth1"


@pytest.mark.parametrize("iface", ["wlan9", "192.0.2.1"], ids=["an unknown name",
                                                             "an address nobody has"])
def test_an_iface_that_is_not_there_is_an_error_naming_the_flag(netns: str, iface: str) -> None:
    with pytest.raises(NetworkError, match=f"--iface: none of {iface} is an interface"):
        asyncio.run(uplink(netns, iface))


def test_an_interface_without_an_address_cannot_carry_vxlan(netns: str) -> None:
    ip(netns, "addr", "flush", "dev", "eth1")
    with pytest.raises(NetworkError, match="eth1 has no IPv4 address"):
        asyncio.run(uplink(netns, "eth1"))


def test_a_point_to_point_address_sends_vxlan_from_the_local_end(netns: str) -> None:
    """`ip addr add A peer B`: the kernel reports B as the address and A as the local one;
    VXLAN must leave from A, this node's own address (by name and by address alike)."""
    ip(netns, "addr", "flush", "dev", "eth1")
    ip(netns, "addr", "add", "10.214.4.1", "peer", "10.214.4.2/32", "dev", "eth1")
    assert str(asyncio.run(uplink(netns, "eth1")).address) == "10.214.4.1"
    by_address = asyncio.run(uplink(netns, "10.214.4.1"))
    assert (by_address.name, str(by_address.address)) == ("eth1", "10.214.4.1")


async def ensure(netns: str, mac: str | None = None) -> dataplane.LocalNetwork:
    async with Kernel(netns) as kernel:
        return await dataplane.ensure_local(kernel, CONF, CIDR, ("eth0",), "", mac)


def test_an_incompatible_flannel_1_is_recreated_and_stray_addresses_go(netns: str) -> None:
    ip(netns, "link", "add", "flannel.1", "type", "vxlan", "id", "7", "dstport", "4789")
    ip(netns, "addr", "add", "10.9.9.9/24", "dev", "flannel.1")
    local = asyncio.run(ensure(netns, "0a:58:0a:f4:05:00"))
    assert local.created and local.mtu == 1350 and local.vtep_mac == "0a:58:0a:f4:05:00"
    link = ip(netns, "-d", "link", "show", "flannel.1")
    assert "vxlan id 1 local 10.214.2.1 dev eth0" in link and "dstport 8472" in link
    addresses = ip(netns, "-4", "-o", "addr", "show", "dev", "flannel.1")
    assert "inet 10.244.5.0/32" in addresses and "10.9.9.9" not in addresses
    again = asyncio.run(ensure(netns))  # compatible now: kept, MAC and all
    assert not again.created and again.vtep_mac == local.vtep_mac

