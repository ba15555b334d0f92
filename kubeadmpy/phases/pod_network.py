"""The `pod-network` step of init and join: flannel, as a user of kubeadm + kube-flannel.yml gets it.

Two halves. The *host* half runs on every node, init and join alike (`install_node_cni`, the one
function both call): containerd execs CNI plugins on the host, with the host's interpreter, so
the `flannel` plugin launcher goes into containerd's CNI bin dir (`/usr/lib/cni` on Debian,
`ContainerdValues.cni_bin_dir`) and upstream's conflist into `/etc/cni/net.d/10-flannel.conflist`.
The *cluster* half runs once, in init (`write_pod_network`): the kube-flannel objects, whose
DaemonSet brings `kubeadmpy-flanneld` to every node, the joining ones included; init then waits
for its node's podCIDR, so a node IPAM that does not work is init's error, not a silent flanneld. Until flanneld
has written the node's `/run/flannel/subnet.env`, the plugin fails and the kubelet retries the
pod sandbox; the node itself turns Ready as soon as the conflist exists.

A CNI config already in the directory that kubeadmpy did not write is left alone: the user has
chosen their own pod network, and neither half runs. Without `--pod-network-cidr` nodes get no
podCIDR, so nothing is installed either.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from kubeadmpy.client import errors
from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.files import write_file
from kubeadmpy.network import cni_install
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases import addons, apiclient, diagnosis, init_api
from kubeadmpy.render.addons_flannel import (
    CNI_NETWORK_NAME,
    FlannelAddonValues,
    check_pod_network,
    parse_flannel_addon,
    render_cni_conflist,
    render_flannel_addon,
)
from kubeadmpy.render.containerd import ContainerdValues

if TYPE_CHECKING:
    from kubeadmpy.phases.init import InitContext

CNI_CONF_DIR = PurePosixPath(ContainerdValues.cni_conf_dir)
CNI_BIN_DIR = PurePosixPath(ContainerdValues.cni_bin_dir)  # what containerd's config names
FLANNEL_CONFLIST = CNI_CONF_DIR / "10-flannel.conflist"
FLANNEL_LAUNCHER = CNI_BIN_DIR / cni_install.PLUGIN_NAME
# What kubeadmpy wrote before flannel shipped; reset still removes it from such nodes.
LEGACY_BRIDGE_CONFLIST = CNI_CONF_DIR / "10-kubeadmpy-bridge.conflist"
BRIDGE_DEVICE = "cni0"  # the bridge flannel's delegate (and the old single-node config) uses
CNI_CONFIG_SUFFIXES = (".conf", ".conflist", ".json")
TAG = "pod-network"

Printer = Callable[[str], None]


@dataclass(frozen=True)
class NodeNetwork:
    """What the host half reads; init and join each build one from their own context."""

    paths: HostPaths
    pod_subnet: str
    out: Printer


def is_our_conflist(path: Path) -> bool:
    """A config kubeadmpy writes: the old bridge one, or a 10-flannel.conflist holding exactly
    upstream's cni-conf.json (kube-flannel.yml's install-cni writes the same, and it is the
    same network either way)."""
    if path.name == LEGACY_BRIDGE_CONFLIST.name:
        return True
    if path.name != FLANNEL_CONFLIST.name:
        return False
    try:
        return bool(json.loads(path.read_text()) == json.loads(render_cni_conflist()))
    except (OSError, ValueError):
        return False


def foreign_cni_configs(conf_dir: Path) -> list[str]:
    """CNI configs in `conf_dir` that kubeadmpy did not write (sorted file names)."""
    if not conf_dir.is_dir():
        return []
    return sorted(p.name for p in conf_dir.iterdir()
                  if p.suffix in CNI_CONFIG_SUFFIXES and not is_our_conflist(p))


def install_node_cni(network: NodeNetwork) -> bool:
    """This node's host half: the flannel plugin launcher and the conflist. True when kubeadmpy's
    flannel is the node's pod network (and so the addon objects belong in the cluster)."""
    out = network.out
    if not network.pod_subnet:
        out(f"[{TAG}] No --pod-network-cidr (networking.podSubnet): nodes get no podCIDR, so "
            "flannel is not installed; install a pod network addon yourself")
        return False
    check_pod_network(network.pod_subnet)
    if others := foreign_cni_configs(network.paths.host(CNI_CONF_DIR)):
        out(f"[{TAG}] {CNI_CONF_DIR} already holds {', '.join(others)}: leaving the pod "
            "network to it")
        return False
    cni_install.write_launcher(network.paths.host(CNI_BIN_DIR))
    out(f'[{TAG}] Wrote the flannel CNI plugin "{FLANNEL_LAUNCHER}" (runs {sys.executable} '
        f"-m {cni_install.MODULE})")
    write_file(network.paths.host(FLANNEL_CONFLIST), render_cni_conflist(), mode=0o644,
               dir_mode=0o755)
    network.paths.host(LEGACY_BRIDGE_CONFLIST).unlink(missing_ok=True)
    out(f'[{TAG}] Wrote the CNI config "{FLANNEL_CONFLIST}" (network {CNI_NETWORK_NAME}: '
        "flannel → bridge cni0 + host-local on this node's podCIDR, portmap)")
    return True


def flannel_values(ctx: InitContext, image: str) -> FlannelAddonValues:
    options = ctx.bundle.kubeadmpy.network.flannel
    endpoint = ctx.pki_settings.cluster_endpoint
    return FlannelAddonValues(
        image=image, network=ctx.bundle.cluster.networking.pod_subnet,
        api_host=endpoint.host, api_port=endpoint.port,
        vni=options.vni if options.vni is not None else FlannelAddonValues.vni,
        port=options.port if options.port is not None else FlannelAddonValues.port,
        mtu=options.mtu)


def write_pod_network(ctx: InitContext) -> None:
    """Init's phase: the host half on this node, then the kube-flannel objects."""
    image = addons.addon_image(ctx, "flannel", TAG)
    if image is None:
        return
    installed = install_node_cni(NodeNetwork(
        paths=ctx.paths, pod_subnet=ctx.bundle.cluster.networking.pod_subnet, out=ctx.out))
    if not installed:
        return
    objects = parse_flannel_addon(render_flannel_addon(flannel_values(ctx, image)).content)
    addons.apply(ctx, TAG, objects, 'the flannel objects in namespace "kube-flannel" '
                 "(DaemonSet kube-flannel-ds runs kubeadmpy-flanneld on every node)")
    if ctx.dry_run or ctx.paths.root.as_posix() != "/":
        return  # no node registers in a scratch root
    node_name = ctx.bundle.init.node_registration.name
    timeout = init_api.api_timeout(ctx).total_seconds()
    cidr = apiclient.run(lambda: _wait_for_pod_cidr(ctx, node_name, timeout))
    ctx.out(f"[{TAG}] Node {node_name} has podCIDR {cidr}; flanneld hands it to the CNI plugin "
            "through /run/flannel/subnet.env")


def node_pod_cidr(node: dict[str, Any]) -> str | None:
    spec = node.get("spec")
    if not isinstance(spec, dict):
        return None
    cidr = spec.get("podCIDR") or next(iter(spec.get("podCIDRs") or []), None)
    return str(cidr) if cidr else None


async def _wait_for_pod_cidr(ctx: InitContext, node_name: str, limit: float) -> str:
    """This node's podCIDR, which flanneld needs: waiting for it here turns a node IPAM that
    does not work into init's error, with the runtime's view, instead of a flanneld that waits
    silently."""
    deadline = time.monotonic() + limit
    async with apiclient.admin_client(ctx.paths) as client:
        while True:
            try:
                cidr = node_pod_cidr(await client.get("nodes", node_name))
            except errors.NotFound:
                cidr = None
            if cidr:
                return cidr
            if time.monotonic() > deadline:
                found = await diagnosis.control_plane_diagnosis(
                    ctx.paths, node_name,
                    ctx.bundle.init.node_registration.cri_socket
                    or diagnosis.DEFAULT_RUNTIME_ENDPOINT)
                raise KubeadmpyError(
                    f"[{TAG}] Node {node_name!r} got no podCIDR within {limit:.0f}s. Node "
                    "IPAM in kube-controller-manager assigns it when init runs with "
                    "--pod-network-cidr. What the container runtime shows:\n" + found)
            await asyncio.sleep(0.2)
