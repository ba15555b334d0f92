"""Two fake nodes for the flannel node tests: network namespaces joined by a veth pair.

Everything lives in namespaces the test creates (names carry a random tag so parallel runs and
other suites' namespaces never clash) and is removed in a `finally`; the only addresses used
are `UNDERLAY` and the pod network, and they exist only inside those namespaces.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UNDERLAY = ipaddress.IPv4Network("10.214.0.0/24")  # the nodes' "physical" link, test-only
NETWORK = ipaddress.IPv4Network("10.244.0.0/16")
CNI_BIN = "/usr/lib/cni"


@dataclass(frozen=True)
class FakeNode:
    name: str  # the Node's name
    netns: str  # its network namespace
    address: ipaddress.IPv4Address  # on eth0, the VXLAN uplink
    pod_cidr: ipaddress.IPv4Network
    pod_netns: str  # one "pod" under this node


def run(*argv: str, netns: str | None = None, check: bool = True,
        **kwargs: Any) -> subprocess.CompletedProcess[str]:
    prefix = ["ip", "netns", "exec", netns] if netns else []
    return subprocess.run([*prefix, *argv], check=check, capture_output=True, text=True,
                          **kwargs)


@contextmanager
def two_nodes() -> Iterator[tuple[FakeNode, FakeNode]]:
    """node-a and node-b, eth0 of each the end of one veth pair, each with a pod namespace."""
    tag = uuid.uuid4().hex[:6]
    hosts = list(UNDERLAY.hosts())
    nodes = tuple(FakeNode(f"node-{x}", f"kpfl{tag}-node-{x}", hosts[i],
                           ipaddress.IPv4Network(f"10.244.{i + 1}.0/24"), f"kpfl{tag}-pod-{x}")
                  for i, x in enumerate("ab"))
    namespaces = [ns for node in nodes for ns in (node.netns, node.pod_netns)]
    ends = (f"kpfl{tag}a", f"kpfl{tag}b")
    try:
        for ns in namespaces:
            run("ip", "netns", "add", ns)
            run("ip", "link", "set", "lo", "up", netns=ns)
        run("ip", "link", "add", ends[0], "type", "veth", "peer", "name", ends[1])
        for node, end in zip(nodes, ends, strict=True):
            run("ip", "link", "set", end, "netns", node.netns, "name", "eth0")
            run("ip", "addr", "add", f"{node.address}/{UNDERLAY.prefixlen}", "dev", "eth0",
                netns=node.netns)
            run("ip", "link", "set", "eth0", "up", netns=node.netns)
        yield nodes[0], nodes[1]
    finally:
        for ns in namespaces:
            run("ip", "netns", "del", ns, check=False)
        for end in ends:  # only left over if a move into a namespace failed
            run("ip", "link", "del", end, check=False)


@contextmanager
def veth_namespace(purpose: str, eth0: str, eth1: str = "", mtu: int = 1500) -> Iterator[str]:
    """One namespace holding a veth pair eth0/eth1 (addresses given as CIDRs, eth1's
    optional), both up, no default route; removed on the way out."""
    name = f"kpfl{uuid.uuid4().hex[:6]}-{purpose}"
    try:
        run("ip", "netns", "add", name)
        run("ip", "link", "add", "eth0", "mtu", str(mtu), "type", "veth", "peer", "name", "eth1",
            netns=name)
        for dev, address in (("eth0", eth0), ("eth1", eth1)):
            if address:
                run("ip", "addr", "add", address, "dev", dev, netns=name)
        for dev in ("lo", "eth0", "eth1"):
            run("ip", "link", "set", dev, "up", netns=name)
        yield name
    finally:
        run("ip", "netns", "del", name, check=False)


def node_object(node: FakeNode, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node.name, "annotations": annotations or {}},
            "spec": {"podCIDR": str(node.pod_cidr), "podCIDRs": [str(node.pod_cidr)]}}


def cni(plugin: Path, command: str, node: FakeNode, container_id: str, conf: dict[str, Any]
        ) -> subprocess.CompletedProcess[str]:
    """Run the `flannel` CNI plugin as containerd on `node` would (with its CNI_ARGS), for
    the node's pod namespace."""
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
           "CNI_COMMAND": command, "CNI_CONTAINERID": container_id,
           "CNI_NETNS": f"/var/run/netns/{node.pod_netns}", "CNI_IFNAME": "eth0",
           "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-{node.name}",
           "CNI_PATH": f"{plugin.parent}:{CNI_BIN}"}
    return run(str(plugin), netns=node.netns, check=False, input=json.dumps(conf), env=env)
