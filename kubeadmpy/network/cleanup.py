"""Removing what flanneld put on a node, for `kubeadmpy reset` (wired in by the reset phase).

flanneld leaves its device, entries, masquerade table and subnet.env in place when it stops, so
pods keep working across restarts; `reset` is the one place that takes them away.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kubeadmpy.network import masq, netconf, subnetenv
from kubeadmpy.network.netlink import Kernel


async def remove_node_network(vni: int = netconf.DEFAULT_VNI,
                              subnet_file: str = subnetenv.DEFAULT_PATH,
                              netns: str | None = None,
                              nft_command: Sequence[str] = ("nft",)) -> list[str]:
    """Delete `flannel.<VNI>` (its neighbours, FDB entries and routes go with it), the
    nftables table and subnet.env; what was removed, for the reset output."""
    removed: list[str] = []
    device = netconf.VxlanBackend(vni=vni).device
    async with Kernel(netns) as kernel:
        if await kernel.delete_link(device):
            removed.append(f"device {device}")
    if await masq.table_present(nft_command):
        await masq.remove(nft_command)
        removed.append(f"nftables table {masq.FAMILY} {masq.TABLE}")
    if _remove_file(Path(subnet_file)):
        removed.append(subnet_file)
    return removed


def _remove_file(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
