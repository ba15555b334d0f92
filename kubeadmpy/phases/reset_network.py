"""What `reset` removes of the pod network and Services on this machine: flannel and kube-proxy.

Files first, on any root: the conflist and the plugin launcher init/join wrote (only ours: a
CNI config or plugin someone else wrote stays), and the single-node bridge config older
kubeadmpy versions wrote. Then, on the real machine only, the kernel state the DaemonSets left
on purpose (their pods keep working across restarts, so only reset takes it away): flanneld's
`flannel.<VNI>` device with its routes and entries, its masquerade table and subnet.env
(`kubeadmpy.network.cleanup`), the bridge `cni0`, and kube-proxy's `ip kube-proxy` table (what
`kubeadmpy-proxy --cleanup` does). Each removal is one line of reset's output; a failure is a
warning and the reset goes on, as kubeadm's.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Callable
from pathlib import PurePosixPath

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.network import cleanup, cni_install, netconf
from kubeadmpy.network.netlink import Kernel
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases import pod_network
from kubeadmpy.proxy import main as proxy_main
from kubeadmpy.proxy import rules as proxy_rules

Printer = Callable[[str], None]
_FLANNEL_DEVICE = re.compile(r"^\d+:\s+flannel\.(\d+)[@:]", re.MULTILINE)


def our_cni_files(paths: HostPaths) -> list[PurePosixPath]:
    """The CNI files on this root that kubeadmpy wrote (logical paths)."""
    found = [logical for logical in (pod_network.FLANNEL_CONFLIST,
                                     pod_network.LEGACY_BRIDGE_CONFLIST)
             if paths.host(logical).exists() and pod_network.is_our_conflist(paths.host(logical))]
    if cni_install.is_ours(paths.host(pod_network.FLANNEL_LAUNCHER)):
        found.append(pod_network.FLANNEL_LAUNCHER)
    return found


def flannel_vnis() -> list[int]:
    """VNIs of the `flannel.<VNI>` devices in this network namespace (reset does not know the
    cluster's configuration; the devices say it)."""
    try:
        listing = subprocess.run(["ip", "-o", "link", "show", "type", "vxlan"],
                                 capture_output=True, text=True, check=False).stdout
    except OSError:  # no iproute2: cleanup still looks for the default VNI's device
        return []
    return sorted({int(vni) for vni in _FLANNEL_DEVICE.findall(listing)})


def _kube_proxy_table_present() -> bool:
    try:
        done = subprocess.run(["nft", "list", "tables", proxy_rules.FAMILY],
                              capture_output=True, text=True, check=False)
    except OSError:  # no nftables on this node: kube-proxy never programmed a table here
        return False
    return f"table {proxy_rules.FAMILY} {proxy_rules.TABLE}" in done.stdout


async def _delete_link(name: str) -> bool:
    """Delete a link over rtnetlink (no `ip` binary needed); whether it was there."""
    async with Kernel() as kernel:
        return await kernel.delete_link(name)


def remove_kernel_state(out: Printer, warn: Printer) -> list[str]:
    """flannel's device(s), masquerade table and subnet.env, cni0, kube-proxy's table; what was
    removed. Real machine only."""
    removed: list[str] = []
    for vni in flannel_vnis() or [netconf.DEFAULT_VNI]:
        try:
            removed += asyncio.run(cleanup.remove_node_network(vni=vni))
        except (KubeadmpyError, OSError) as exc:
            warn(f"flannel's network (VNI {vni}): {exc}")
    try:
        if asyncio.run(_delete_link(pod_network.BRIDGE_DEVICE)):
            removed.append(f"bridge {pod_network.BRIDGE_DEVICE}")
    except KubeadmpyError as exc:
        warn(f"link {pod_network.BRIDGE_DEVICE}: {exc}")
    if _kube_proxy_table_present():
        try:
            asyncio.run(proxy_main.cleanup())
            removed.append(f"nftables table {proxy_rules.FAMILY} {proxy_rules.TABLE}")
        except KubeadmpyError as exc:
            warn(f"kube-proxy's table: {exc}")
    for what in removed:
        out(f"[reset] Deleted {what}")
    return removed

