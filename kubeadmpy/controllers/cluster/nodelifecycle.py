"""The node lifecycle controller: notices nodes whose kubelet went silent and taints them.

A kubelet proves it is alive by renewing its Lease in kube-node-lease (every 10 s) and by
posting node status. This controller records, on its own clock, when it last saw either change
(renewTime values are another machine's clock and are not compared with ours). When nothing
changed for --node-monitor-grace-period (40 s), the node's Ready, MemoryPressure, DiskPressure
and PIDPressure conditions become Unknown ("Kubelet stopped posting node status."). It also
keeps the condition taints in step: Ready=False → node.kubernetes.io/not-ready, Ready=Unknown →
node.kubernetes.io/unreachable, each with NoSchedule and NoExecute, and
node.kubernetes.io/unschedulable:NoSchedule for cordoned nodes. NoExecute taints are rate
limited per zone and held back when a whole zone (or the whole cluster) looks down, see
disruption.py. Pods on a node that is not Ready get Ready=False (so Endpoints stop routing to
them), as upstream's MarkPodsNotReady. Evicting pods from NoExecute nodes is the
taint-eviction controller's job.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from kubeadmpy.client import (
    Controller,
    EventHandler,
    Request,
    Result,
    errors,
    pods_by_node_name,
)
from kubeadmpy.client.clock import Clock
from kubeadmpy.controllers.cluster import taints
from kubeadmpy.controllers.cluster.common import (
    JSONObject,
    condition,
    is_terminating,
    name_of,
    namespace_of,
    rfc3339,
    spec,
    writable,
)
from kubeadmpy.controllers.cluster.disruption import (
    DisruptionSettings,
    ZoneLimiter,
    ZoneState,
    tainting_rate,
    zone_of,
    zone_states,
)
from kubeadmpy.controllers.cluster.events import NORMAL, EventRecorder
from kubeadmpy.controllers.registry import ControllerContext

log = logging.getLogger(__name__)
NAME = "node-lifecycle-controller"
LEASE_NAMESPACE = "kube-node-lease"
NODE_NAME_INDEX = "spec.nodeName"
NODE_UPDATE_WORKERS = 8
OUR_REASONS = ("NodeStatusUnknown", "NodeStatusNeverUpdated")
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


@dataclass
class _Seen:
    """The last lease renewal / status heartbeat seen for a node and when (our clock)."""

    lease_renew: str = ""
    heartbeat: str = ""
    at: float = 0.0
    ever_ready_reported: bool = False
    not_ready_since: float | None = None  # our clock; None while Ready


def _heartbeat(node: JSONObject) -> str:
    ready = condition(node, "Ready")
    return str((ready or {}).get("lastHeartbeatTime") or "")


class NodeLifecycleController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock: Clock = ctx.clock
        self.grace = ctx.options.node_monitor_grace_period
        self.startup_grace = ctx.options.node_startup_grace_period
        self.monitor_period = ctx.options.node_monitor_period
        self.nodes = ctx.informers.informer("nodes")
        self.leases = ctx.informers.informer("leases", namespace=LEASE_NAMESPACE)
        self.pods = ctx.informers.informer("pods", indexers={NODE_NAME_INDEX: pods_by_node_name})
        self.seen: dict[str, _Seen] = {}
        self.disruption = DisruptionSettings.from_extra(ctx.options.extra)
        self.limiters: dict[str, ZoneLimiter] = {}
        self._zone_cache: tuple[float, dict[str, ZoneState], dict[str, int]] | None = None
        self.events = EventRecorder(ctx.client, "node-controller", ctx.clock)
        # Upstream updates node health with 8 workers; state here changes only between awaits.
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock,
                                     workers=NODE_UPDATE_WORKERS)
        self.nodes.add_handler(EventHandler(on_add=self._node_seen,
                                            on_update=lambda _o, n: self._node_seen(n)))
        self.leases.add_handler(EventHandler(on_add=self._lease_seen,
                                             on_update=lambda _o, n: self._lease_seen(n)))
        self.controller.watch(self.nodes)
        self.controller.watch(self.leases, lambda lease: [Request("", name_of(lease))])

    async def run(self) -> None:
        await self.pods.wait_synced()  # pods are read on each sync, not watched for changes
        await self.controller.run()

    def _entry(self, name: str) -> _Seen:
        entry = self.seen.get(name)
        if entry is None:  # first sight: the grace period starts now
            entry = self.seen[name] = _Seen(at=self.clock.now())
        return entry

    def _node_seen(self, node: JSONObject) -> None:
        entry = self._entry(name_of(node))
        beat = _heartbeat(node)
        ready = condition(node, "Ready")
        if ready is None or ready.get("reason") in OUR_REASONS:
            return  # only the kubelet's own reports count as signs of life
        entry.ever_ready_reported = True
        if beat and beat != entry.heartbeat:
            entry.heartbeat, entry.at = beat, self.clock.now()

    def _lease_seen(self, lease: JSONObject) -> None:
        entry = self._entry(name_of(lease))
        renew = str(spec(lease).get("renewTime") or "")
        if renew and renew != entry.lease_renew:
            entry.lease_renew, entry.at = renew, self.clock.now()

    async def reconcile(self, request: Request) -> Result | None:
        node = self.nodes.store.get(request.name)
        if node is None:
            self.seen.pop(request.name, None)
            return None
        entry = self._entry(request.name)
        grace = self.grace if entry.ever_ready_reported else max(self.grace,
                                                                  self.startup_grace)
        silent_for = self.clock.now() - entry.at
        if silent_for > grace:
            node = await self._mark_unknown(node)
        ready = condition(node, "Ready")
        if ready is not None and ready.get("status") == "True":
            entry.not_ready_since = None
        elif entry.not_ready_since is None:
            entry.not_ready_since = self.clock.now()
        retry = await self._sync_taints(node, entry)
        if ready is not None and ready.get("status") != "True":
            await self._mark_pods_not_ready(name_of(node))
        remaining = grace - silent_for
        after = remaining + 0.05 if remaining > 0 else self.monitor_period
        return Result(requeue_after=min(after, retry) if retry is not None else after)

    async def _mark_unknown(self, node: JSONObject) -> JSONObject:
        now = rfc3339(self.clock.wall())
        changed = writable(node)
        conditions: list[JSONObject] = changed.setdefault("status", {}).setdefault(
            "conditions", [])
        dirty = False
        for kind in MONITORED_CONDITIONS:
            current = next((c for c in conditions if c.get("type") == kind), None)
            if current is None:
                conditions.append({"type": kind, "status": "Unknown",
                                   "reason": "NodeStatusNeverUpdated",
                                   "message": "Kubelet never posted node status.",
                                   "lastHeartbeatTime": now, "lastTransitionTime": now})
                dirty = True
            elif current.get("status") != "Unknown":
                current.update(status="Unknown", reason="NodeStatusUnknown",
                               message="Kubelet stopped posting node status.",
                               lastTransitionTime=now)
                dirty = True
        if not dirty:
            return node
        log.info("node %s: no lease renewal or status for the grace period; conditions "
                 "Unknown", name_of(node))
        updated: JSONObject = await self.client.update_status("nodes", changed)
        await self.events.record({"kind": "Node", **updated}, NORMAL, "NodeNotReady",
                                 f"Node {name_of(node)} status is now: NodeNotReady")
        return updated

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        """Pods of a node that is not Ready are not ready either (Services stop sending them
        traffic), as upstream's MarkPodsNotReady does; the kubelet sets them again later."""
        for pod in self.pods.store.by_index(NODE_NAME_INDEX, node_name):
            ready = condition(pod, "Ready")
            if ready is None or ready.get("status") != "True" or is_terminating(pod):
                continue
            changed = writable(pod)
            for entry in changed["status"]["conditions"]:
                if entry.get("type") == "Ready":
                    entry.update(status="False", lastTransitionTime=rfc3339(self.clock.wall()))
            log.info("node %s is not ready: marking pod %s/%s not ready", node_name,
                     namespace_of(pod), name_of(pod))
            with contextlib.suppress(errors.NotFound):
                await self.client.update_status("pods", changed, namespace_of(pod))

    def _zones(self) -> tuple[dict[str, ZoneState], dict[str, int]]:
        """Zone states from the node cache, recomputed at most once a second (O(nodes))."""
        now = self.clock.now()
        if self._zone_cache is None or now - self._zone_cache[0] >= 1.0:
            pairs = [(zone_of(n), (condition(n, "Ready") or {}).get("status") == "True")
                     for n in self.nodes.store.list()]
            self._zone_cache = (now, *zone_states(pairs, self.disruption.unhealthy_zone_threshold))
        return self._zone_cache[1], self._zone_cache[2]

    def _admit_no_execute(self, node: JSONObject, current: list[JSONObject], entry: _Seen
                          ) -> tuple[bool, float | None]:
        """May this node get (or keep) its NoExecute condition taint now? And when to ask
        again if not. Swapping one controlled NoExecute taint for another needs no token.

        A node must have been not Ready for one monitor period first: upstream judges zones
        once per pass over all nodes, so nodes failing together are seen together and a
        cluster-wide outage is recognised before the first one is tainted."""
        states, sizes = self._zones()
        if states and all(state is ZoneState.FULL for state in states.values()):
            log.info("all nodes are not Ready: master disruption mode, no NoExecute taints")
            return False, self.monitor_period
        if any(t.get("key") in taints.CONTROLLED_KEYS and t.get("effect") == taints.NO_EXECUTE
               for t in current):
            return True, None
        settled = self.clock.now() - (entry.not_ready_since or self.clock.now())
        if settled < self.monitor_period:
            return False, self.monitor_period - settled + 0.05
        zone = zone_of(node)
        rate = tainting_rate(states.get(zone, ZoneState.NORMAL), sizes.get(zone, 1),
                             self.disruption)
        if rate <= 0:
            return False, self.monitor_period
        limiter = self.limiters.setdefault(zone, ZoneLimiter(rate))
        limiter.rate = rate
        wait = limiter.take(self.clock.now())
        if wait is None or wait > 0:
            return False, wait if wait is not None else self.monitor_period
        return True, None

    async def _sync_taints(self, node: JSONObject, entry: _Seen) -> float | None:
        """Make the condition taints right; seconds until NoExecute may be retried, if held."""
        ready = condition(node, "Ready")
        wanted = taints.desired_controlled_taints(
            str(ready.get("status")) if ready else None, bool(spec(node).get("unschedulable")))
        current = spec(node).get("taints") or []
        retry: float | None = None
        if any(effect == taints.NO_EXECUTE for _, effect in wanted):
            admitted, retry = self._admit_no_execute(node, current, entry)
            if not admitted:
                wanted = [w for w in wanted if w[1] != taints.NO_EXECUTE]
        fixed = taints.reconcile_taints(current, wanted, rfc3339(self.clock.wall()))
        if fixed == current:
            return retry
        changed = writable(node)
        changed.setdefault("spec", {})["taints"] = fixed
        if not fixed:
            changed["spec"].pop("taints")
        log.info("node %s: taints now %s", name_of(node),
                 ", ".join(f"{t['key']}:{t['effect']}" for t in fixed) or "none")
        await self.client.update("nodes", changed)
        return retry


def new_controller(ctx: ControllerContext) -> NodeLifecycleController:
    return NodeLifecycleController(ctx)
