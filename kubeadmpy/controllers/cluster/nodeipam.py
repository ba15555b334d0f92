"""The node IPAM controller: gives every Node a pod CIDR from --cluster-cidr.

The CNI plugin (flannel here) builds each node's pod network from `spec.podCIDR(s)`. Subnets are
`--node-cidr-mask-size` (default /24 for IPv4, /64 for IPv6) slices of the cluster CIDR, one per
IP family. Before the first allocation every subnet already on a Node is marked used, so a
controller restart never hands out a taken subnet; a deleted node's subnet returns to the pool.
Runs only with --allocate-node-cidrs, as upstream.
"""

from __future__ import annotations

import ipaddress
import logging

from kubeadmpy.client import Controller, Request, Result
from kubeadmpy.client.rest import PatchType
from kubeadmpy.controllers.cluster.cidrset import CIDRSet, CIDRSetFull, Network, cidr_sets
from kubeadmpy.controllers.cluster.common import Disabled, JSONObject, spec
from kubeadmpy.controllers.cluster.events import NORMAL, EventRecorder
from kubeadmpy.controllers.registry import ControllerContext, Runnable

log = logging.getLogger(__name__)
NAME = "node-ipam-controller"
RETRY_WHEN_FULL = 30.0  # a deleted node frees a subnet; look again after this long


def node_pod_cidrs(node: JSONObject) -> list[str]:
    node_spec = spec(node)
    cidrs = [str(c) for c in node_spec.get("podCIDRs") or []]
    if not cidrs and node_spec.get("podCIDR"):
        cidrs = [str(node_spec["podCIDR"])]
    return cidrs


class NodeIPAMController:
    def __init__(self, ctx: ControllerContext, sets: list[CIDRSet]) -> None:
        self.client = ctx.client
        self.sets = sets
        self.nodes = ctx.informers.informer("nodes")
        self.assigned: dict[str, list[Network]] = {}
        self.events = EventRecorder(ctx.client, "cidrAllocator", ctx.clock)
        self._primed = False
        # One worker: allocation mutates the shared sets between awaits.
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock)
        self.controller.watch(self.nodes, self._node_and_waiting)

    def _node_and_waiting(self, node: JSONObject) -> list[Request]:
        """The node; when it was deleted (gone from the cache), also every node still
        waiting for a CIDR, since its subnet is free again."""
        requests = [Request("", str(node["metadata"]["name"]))]
        if requests[0].name not in self.nodes.store:
            requests += [Request("", str(n["metadata"]["name"])) for n in self.nodes.store.list()
                         if not node_pod_cidrs(n)]
        return requests

    async def run(self) -> None:
        await self.controller.run()

    def _occupy(self, name: str, cidrs: list[str]) -> None:
        taken: list[Network] = []
        for text in cidrs:
            try:
                subnet = ipaddress.ip_network(text, strict=False)
            except ValueError:
                log.warning("node %s: podCIDR %r is not a CIDR; ignored", name, text)
                continue
            if any(s.occupy(subnet) for s in self.sets):
                taken.append(subnet)
        self.assigned[name] = taken

    def _prime(self) -> None:
        for node in self.nodes.store.list():
            cidrs = node_pod_cidrs(node)
            if cidrs:
                self._occupy(str(node["metadata"]["name"]), cidrs)
        self._primed = True

    async def reconcile(self, request: Request) -> Result | None:
        if not self._primed:
            self._prime()
        node = self.nodes.store.get(request.name)
        if node is None:
            for subnet in self.assigned.pop(request.name, []):
                for cidr_set in self.sets:
                    cidr_set.release(subnet)
            return None
        existing = node_pod_cidrs(node)
        if existing:
            if request.name not in self.assigned:
                self._occupy(request.name, existing)
            return None
        if request.name in self.assigned:  # patched by us, the cache has not caught up
            return None
        allocated: list[Network] = []
        try:
            for cidr_set in self.sets:
                allocated.append(cidr_set.allocate_next())
        except CIDRSetFull as exc:
            for cidr_set, subnet in zip(self.sets, allocated, strict=False):
                cidr_set.release(subnet)
            await self.events.record({"kind": "Node", **node}, NORMAL, "CIDRNotAvailable",
                                     f"Node {request.name} status is now: CIDRNotAvailable")
            log.warning("node %s: no pod CIDR left: %s", request.name, exc)
            return Result(requeue_after=RETRY_WHEN_FULL)
        texts = [str(subnet) for subnet in allocated]
        try:
            await self.client.patch("nodes", request.name,
                                    {"spec": {"podCIDR": texts[0], "podCIDRs": texts}},
                                    patch_type=PatchType.MERGE)
        except BaseException:
            for cidr_set, subnet in zip(self.sets, allocated, strict=True):
                cidr_set.release(subnet)
            raise
        self.assigned[request.name] = allocated
        log.info("node %s: allocated podCIDRs %s", request.name, ", ".join(texts))
        return None


def new_controller(ctx: ControllerContext) -> Runnable:
    options = ctx.options
    if not options.allocate_node_cidrs:
        return Disabled(NAME, "--allocate-node-cidrs is false")
    sets = cidr_sets(options.cluster_cidr, options.node_cidr_mask_size,
                     options.node_cidr_mask_size_ipv4, options.node_cidr_mask_size_ipv6)
    return NodeIPAMController(ctx, sets)
