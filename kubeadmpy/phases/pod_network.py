"""The `pod-network` init phase: a single-node CNI (bridge + host-local) until flannel ships.

kubeadm leaves the pod network to an addon the user applies after `init`; until kubeadmpy ships
flannel, a node would stay NotReady ("cni plugin not initialized") and no pod could start. This
phase reads the podCIDR that node IPAM (the controller-manager, enabled by
``--pod-network-cidr``) assigned to this node and writes one CNI config for the reference
`bridge` and `host-local` plugins on it. containerd picks the file up on its own; the node turns
Ready. Pods reach each other and the node through the bridge; nothing is masqueraded and no
iptables rule is added, so `reset` only has to remove the file, the bridge and the IPAM state.

A config already in the CNI directory that kubeadmpy did not write is left alone: the user has
chosen their own pod network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kubeadmpy.client import Client, errors, load_kubeconfig
from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.files import write_file
from kubeadmpy.paths import KUBERNETES_DIR, HostPaths
from kubeadmpy.phases import apiclient, diagnosis
from kubeadmpy.phases.init_api import api_timeout

if TYPE_CHECKING:
    from kubeadmpy.phases.init import InitContext

CNI_CONF_DIR = PurePosixPath("/etc/cni/net.d")
BRIDGE_CONFLIST = CNI_CONF_DIR / "10-kubeadmpy-bridge.conflist"
NETWORK_NAME = "kubeadmpy-bridge"
BRIDGE_DEVICE = "cni0"  # the name flannel's bridge uses too, so a later switch finds one bridge
CNI_CONFIG_SUFFIXES = (".conf", ".conflist", ".json")
TAG = "pod-network"


def bridge_conflist(pod_cidr: str) -> str:
    """The CNI network list for one node: a gateway bridge with host-local IPAM on `pod_cidr`."""
    subnet = ipaddress.ip_network(pod_cidr)
    default_route = "0.0.0.0/0" if subnet.version == 4 else "::/0"
    config = {
        "cniVersion": "1.0.0",
        "name": NETWORK_NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE_DEVICE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": str(subnet)}]],
                    "routes": [{"dst": default_route}],
                },
            },
            {"type": "loopback"},
        ],
    }
    return json.dumps(config, indent=2) + "\n"


def foreign_cni_configs(conf_dir: Path) -> list[str]:
    """CNI configs in `conf_dir` that kubeadmpy did not write (sorted file names)."""
    if not conf_dir.is_dir():
        return []
    return sorted(
        p.name
        for p in conf_dir.iterdir()
        if p.suffix in CNI_CONFIG_SUFFIXES and p.name != BRIDGE_CONFLIST.name
    )


def node_pod_cidr(node: dict[str, object]) -> str | None:
    spec = node.get("spec")
    if not isinstance(spec, dict):
        return None
    cidr = spec.get("podCIDR") or next(iter(spec.get("podCIDRs") or []), None)
    return str(cidr) if cidr else None


@dataclass(frozen=True)
class NodeNetwork:
    """Which node's podCIDR to wait for, and with whose credentials (init: admin.conf; join:
    the node's own kubelet.conf, since a worker has no admin credentials)."""

    paths: HostPaths
    node_name: str
    pod_subnet: str
    kubeconfig: PurePosixPath
    cri_socket: str
    timeout_seconds: float
    dry_run: bool
    out: Callable[[str], None]


async def _wait_for_pod_cidr(network: NodeNetwork) -> str:
    deadline = time.monotonic() + network.timeout_seconds
    node_name = network.node_name
    kubeconfig = load_kubeconfig(network.paths.host(network.kubeconfig))
    async with Client(kubeconfig) as client:
        while True:
            try:
                cidr = node_pod_cidr(await client.get("nodes", node_name))
            except errors.NotFound:
                cidr = None
            if cidr:
                return cidr
            if time.monotonic() > deadline:
                found = await diagnosis.control_plane_diagnosis(
                    network.paths, node_name,
                    network.cri_socket or diagnosis.DEFAULT_RUNTIME_ENDPOINT,
                )
                raise KubeadmpyError(
                    f"[{TAG}] Node {node_name!r} got no podCIDR within "
                    f"{network.timeout_seconds:.0f}s. Node IPAM in kube-controller-manager "
                    "assigns it when init runs with --pod-network-cidr. What the container "
                    "runtime shows:\n" + found
                )
            await asyncio.sleep(0.2)


def write_pod_network(ctx: InitContext) -> None:
    """Init's phase: the control-plane node's bridge CNI config, read with admin.conf."""
    write_node_network(NodeNetwork(
        paths=ctx.paths,
        node_name=ctx.bundle.init.node_registration.name,
        pod_subnet=ctx.bundle.cluster.networking.pod_subnet,
        kubeconfig=KUBERNETES_DIR / "admin.conf",
        cri_socket=ctx.bundle.init.node_registration.cri_socket,
        timeout_seconds=api_timeout(ctx).total_seconds(),
        dry_run=ctx.dry_run,
        out=ctx.out,
    ))


def write_node_network(network: NodeNetwork) -> None:
    """Wait for this node's podCIDR and write the bridge CNI config for it."""
    out = network.out
    if not network.pod_subnet:
        out(
            f"[{TAG}] No --pod-network-cidr (networking.podSubnet): nodes get no podCIDR, so "
            "no CNI config is written; install a pod network addon yourself"
        )
        return
    if network.dry_run:
        out(
            f"[dryrun] [{TAG}] Would wait for the node's podCIDR (from {network.pod_subnet}) "
            f"and write {BRIDGE_CONFLIST} (bridge {BRIDGE_DEVICE} + host-local)"
        )
        return
    if network.paths.root.as_posix() != "/":
        out(f"[{TAG}] --root-dir {network.paths.root} is set: no node registers, nothing written")
        return
    conf_dir = network.paths.host(CNI_CONF_DIR)
    if others := foreign_cni_configs(conf_dir):
        out(
            f"[{TAG}] {CNI_CONF_DIR} already holds {', '.join(others)}: leaving the pod "
            "network to it"
        )
        return
    cidr = apiclient.run(lambda: _wait_for_pod_cidr(network))
    write_file(network.paths.host(BRIDGE_CONFLIST), bridge_conflist(cidr), mode=0o644,
               dir_mode=0o755)
    out(
        f'[{TAG}] Node {network.node_name} has podCIDR {cidr}: wrote "{BRIDGE_CONFLIST}" '
        f"(bridge {BRIDGE_DEVICE} + host-local; replace it with a pod network addon for "
        "more than one node)"
    )
