"""This node's half of the overlay, and the per-peer entries, as two idempotent steps.

`ensure_local` makes the node's own side right: the uplink chosen, `flannel.<VNI>` present
with upstream's parameters and MTU, the node subnet's network address as its only (/32)
address. `sync_peers` makes the device hold exactly the entries the peers call for. flanneld's
reconcile runs both every time; tests run them inside network namespaces with hand-made Node
objects, so the code that passes the node test is the code the daemon runs.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from kubeadmpy.errors import ConfigError
from kubeadmpy.network import netconf, vxlan
from kubeadmpy.network.netlink import DeviceSpec, Kernel, Uplink


@dataclass(frozen=True)
class LocalNetwork:
    """What `ensure_local` found or made; what the node advertises and subnet.env says."""

    uplink: Uplink
    device_index: int
    vtep_mac: str
    public_ip: ipaddress.IPv4Address
    pod_cidr: ipaddress.IPv4Network
    mtu: int
    created: bool


def public_ip(flag: str, uplink: ipaddress.IPv4Address) -> ipaddress.IPv4Address:
    """`--public-ip` when given (a NATed or otherwise reachable address), else the uplink's."""
    if not flag:
        return uplink
    try:
        return ipaddress.IPv4Address(flag)
    except ValueError as exc:
        raise ConfigError("--public-ip", f"{flag!r} is not an IPv4 address",
                          "Pass the address other nodes reach this one at") from exc


async def ensure_local(kernel: Kernel, conf: netconf.NetConf, pod_cidr: ipaddress.IPv4Network,
                       ifaces: tuple[str, ...] = (), public_ip_flag: str = "",
                       advertised_mac: str | None = None) -> LocalNetwork:
    """Device and address for this node; `advertised_mac` keeps the VTEP MAC peers know."""
    uplink = await kernel.find_uplink(ifaces)
    mtu = vxlan.device_mtu(uplink.mtu, conf.backend.mtu, netconf.ENCAP_OVERHEAD)
    device = await kernel.ensure_device(DeviceSpec(
        conf.backend.device, conf.backend.vni, uplink.address, uplink.index,
        conf.backend.port, mtu, advertised_mac))
    await kernel.ensure_address(device.index,
                                ipaddress.IPv4Interface(f"{pod_cidr.network_address}/32"))
    return LocalNetwork(uplink, device.index, device.mac, public_ip(public_ip_flag,
                        uplink.address), pod_cidr, mtu, device.created)


async def sync_peers(kernel: Kernel, device_index: int, peers: list[vxlan.Peer]) -> vxlan.Plan:
    """Make the device hold exactly the peers' entries; the step that was applied."""
    step = vxlan.plan(vxlan.desired(peers), await kernel.read_entries(device_index))
    await kernel.apply(device_index, step)
    return step
