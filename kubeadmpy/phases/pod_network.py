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
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kubeadmpy.client import errors
from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.files import write_file
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


async def _wait_for_pod_cidr(ctx: InitContext, node_name: str, limit_seconds: float) -> str:
    deadline = time.monotonic() + limit_seconds
    async with apiclient.admin_client(ctx.paths) as client:
        while True:
            try:
                cidr = node_pod_cidr(await client.get("nodes", node_name))
            except errors.NotFound:
                cidr = None
            if cidr:
                return cidr
            if time.monotonic() > deadline:
                registration = ctx.bundle.init.node_registration
                found = await diagnosis.control_plane_diagnosis(
                    ctx.paths,
                    node_name,
                    registration.cri_socket or diagnosis.DEFAULT_RUNTIME_ENDPOINT,
                )
                raise KubeadmpyError(
                    f"[{TAG}] Node {node_name!r} got no podCIDR within {limit_seconds:.0f}s. "
                    "Node IPAM in kube-controller-manager assigns it when init runs with "
                    "--pod-network-cidr. What the container runtime shows:\n" + found
                )
            await asyncio.sleep(0.2)


def write_pod_network(ctx: InitContext) -> None:
    """Wait for this node's podCIDR and write the bridge CNI config for it."""
    pod_subnet = ctx.bundle.cluster.networking.pod_subnet
    if not pod_subnet:
        ctx.out(
            f"[{TAG}] No --pod-network-cidr (networking.podSubnet): nodes get no podCIDR, so "
            "no CNI config is written; install a pod network addon yourself"
        )
        return
    if ctx.dry_run:
        ctx.out(
            f"[dryrun] [{TAG}] Would wait for the node's podCIDR (from {pod_subnet}) and write "
            f"{BRIDGE_CONFLIST} (bridge {BRIDGE_DEVICE} + host-local)"
        )
        return
    if ctx.paths.root.as_posix() != "/":
        ctx.out(f"[{TAG}] --root-dir {ctx.paths.root} is set: no node registers, nothing written")
        return
    conf_dir = ctx.paths.host(CNI_CONF_DIR)
    if others := foreign_cni_configs(conf_dir):
        ctx.out(
            f"[{TAG}] {CNI_CONF_DIR} already holds {', '.join(others)}: leaving the pod "
            "network to it"
        )
        return
    node_name = ctx.bundle.init.node_registration.name
    cidr = apiclient.run(
        lambda: _wait_for_pod_cidr(ctx, node_name, api_timeout(ctx).total_seconds())
    )
    write_file(ctx.paths.host(BRIDGE_CONFLIST), bridge_conflist(cidr), mode=0o644, dir_mode=0o755)
    ctx.out(
        f'[{TAG}] Node {node_name} has podCIDR {cidr}: wrote "{BRIDGE_CONFLIST}" '
        f"(bridge {BRIDGE_DEVICE} + host-local; replace it with a pod network addon for "
        "more than one node)"
    )
