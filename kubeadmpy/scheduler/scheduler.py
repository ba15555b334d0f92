"""The scheduler's loop: informers feed the snapshot and the queue; each popped pod is decided
synchronously, assumed on its node, and bound in the background.

Deciding is pure CPU on one consistent snapshot (nothing awaits mid-decision), so decisions are
serial as upstream's are; binding is I/O and runs concurrently (bounded), so API latency does
not limit throughput. The pod counts on its node from the moment it is assumed; a failed bind
forgets it and sends the pod to back-off. Pods bound by anyone are recognised by `spec.nodeName`
in the watch, which also confirms our own bindings.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from kubeadmpy.client import errors
from kubeadmpy.client.clock import Clock, RealClock
from kubeadmpy.client.informer import EventHandler, SharedInformerFactory
from kubeadmpy.client.rest import Client, PatchType
from kubeadmpy.scheduler import events
from kubeadmpy.scheduler import framework as fw
from kubeadmpy.scheduler.algorithm import Algorithm, FitError
from kubeadmpy.scheduler.model import DEFAULT_SCHEDULER_NAME, PodInfo, pod_info
from kubeadmpy.scheduler.preemption import Candidate
from kubeadmpy.scheduler.queue import QueuedPod, SchedulingQueue
from kubeadmpy.scheduler.snapshot import ClusterSnapshot
from kubeadmpy.scheduler.volumes import (
    SELECTED_NODE_ANNOTATION,
    VolumePlan,
    plan_volumes,
    release_volumes,
)

log = logging.getLogger(__name__)
JSONObject = dict[str, Any]


@dataclass(frozen=True)
class SchedulerSettings:
    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    percentage_of_nodes_to_score: int = 0  # 0: upstream's adaptive share
    bind_concurrency: int = 64
    identity: str = "kubeadmpy-scheduler"
    seed: int | None = None


def _key(obj: JSONObject) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


def _assigned(obj: JSONObject) -> bool:
    return bool((obj.get("spec") or {}).get("nodeName"))


def _scheduling_relevant(pod: JSONObject) -> tuple[Any, ...]:
    """What can change a pending pod's fate: not its status, not bookkeeping metadata."""
    meta = pod.get("metadata") or {}
    return (pod.get("spec"), meta.get("labels"), meta.get("annotations"),
            meta.get("deletionTimestamp"))


def _node_facts(node: JSONObject) -> tuple[Any, ...]:
    """What scheduling reads from a Node; heartbeat-only updates leave this unchanged."""
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    conditions = sorted((c.get("type"), c.get("status")) for c in status.get("conditions") or ())
    return (meta.get("labels"), spec.get("taints"), spec.get("unschedulable"),
            status.get("allocatable"), conditions, [i.get("names") for i in status.get("images") or ()])


@dataclass
class _KeyedObjects:
    """Keeps objects of one resource by key in the snapshot; a change may be a cluster event."""

    store: dict[str, JSONObject]
    namespaced: bool
    queue: SchedulingQueue
    event: str | None

    def _key(self, obj: JSONObject) -> str:
        return _key(obj) if self.namespaced else str((obj.get("metadata") or {}).get("name"))

    def put(self, obj: JSONObject) -> None:
        self.store[self._key(obj)] = obj
        if self.event is not None:
            self.queue.on_event(self.event)

    def remove(self, obj: JSONObject) -> None:
        self.store.pop(self._key(obj), None)

    def handler(self) -> EventHandler:
        return EventHandler(self.put, lambda _, new: self.put(new), self.remove)


class Scheduler:
    def __init__(self, client: Client, settings: SchedulerSettings | None = None, *,
                 clock: Clock | None = None, event_client: Client | None = None) -> None:
        self.client = client
        # Events and status reports go through their own client (upstream's event broadcaster
        # has one too), so their rate limit never delays a binding.
        self.event_client = event_client or client
        self.settings = settings or SchedulerSettings()
        self.clock = clock or RealClock()
        self.snapshot = ClusterSnapshot()
        self.algorithm = Algorithm(percentage_of_nodes=self.settings.percentage_of_nodes_to_score,
                                   rng=random.Random(self.settings.seed))
        self.queue = SchedulingQueue({p.name: p.events for p in self.algorithm.filters},
                                     clock=self.clock)
        self.factory = SharedInformerFactory(client)
        self.bound = 0
        self.unschedulable = 0
        self._bind_slots = asyncio.Semaphore(self.settings.bind_concurrency)
        self._last_failure: dict[str, tuple[str, str, int]] = {}  # pod -> (event, message, count)
        self._group: asyncio.TaskGroup | None = None
        self._register()

    # --- informers --------------------------------------------------------------------------
    def _register(self) -> None:
        f = self.factory
        f.informer("pods").add_handler(EventHandler(
            self._pod_added, lambda old, new: self._pod_updated(old, new), self._pod_deleted))
        f.informer("nodes").add_handler(EventHandler(
            lambda n: self._node_changed(None, n), self._node_changed,
            self._node_deleted))
        f.informer("namespaces").add_handler(EventHandler(
            self._namespace_changed, lambda _, n: self._namespace_changed(n),
            self._namespace_deleted))
        for resource, store in (("persistentvolumeclaims", self.snapshot.claims),
                                ("persistentvolumes", self.snapshot.volumes),
                                ("storageclasses", self.snapshot.storage_classes)):
            f.informer(resource).add_handler(_KeyedObjects(
                store, resource == "persistentvolumeclaims", self.queue, fw.VOLUME_CHANGE
            ).handler())
        # Selectors for default topology spreading (scoring only: no event). Upstream also
        # watches ReplicationControllers; our API server does not serve them.
        for resource in ("services", "replicasets", "statefulsets"):
            f.informer(resource).add_handler(_KeyedObjects(
                self.snapshot.workloads.setdefault(resource, {}), True, self.queue, None
            ).handler())

    def _responsible(self, pod: PodInfo) -> bool:
        return (pod.scheduler_name == self.settings.scheduler_name and not pod.terminating
                and not pod.finished)

    def _gated(self, pod: PodInfo) -> bool:
        """spec.schedulingGates: not ours to schedule until the last gate is removed."""
        if not (pod.raw.get("spec") or {}).get("schedulingGates"):
            return False
        conditions = (pod.raw.get("status") or {}).get("conditions") or ()
        if self._group is not None and not any(c.get("reason") == events.SCHEDULING_GATED
                                               for c in conditions):
            self._spawn(self._report_gated(pod))
        return True

    def _pod_added(self, obj: JSONObject) -> None:
        if _assigned(obj):
            self.snapshot.set_pod(obj)
            self.queue.delete(_key(obj))
            self.queue.on_event(fw.ASSIGNED_POD_ADD)
            return
        pod = pod_info(obj)
        if self._responsible(pod) and not self._gated(pod):
            self.queue.add(pod)
            nominated = (obj.get("status") or {}).get("nominatedNodeName")
            if nominated:  # a reservation made before a restart or by the previous leader
                self.snapshot.nominate(pod, str(nominated))

    def _pod_updated(self, old: JSONObject, new: JSONObject) -> None:
        if _assigned(new):
            self.snapshot.set_pod(new)
            self.snapshot.clear_nomination(_key(new))
            self.queue.delete(_key(new))
            self._last_failure.pop(_key(new), None)
            self.queue.on_event(fw.ASSIGNED_POD_UPDATE if _assigned(old) else fw.ASSIGNED_POD_ADD)
            return
        pod = pod_info(new)
        if self._responsible(pod) and not self._gated(pod):
            changed = _scheduling_relevant(old) != _scheduling_relevant(new)
            self.queue.update(pod, spec_changed=changed)
        else:
            self.queue.delete(pod.key)
            self.snapshot.clear_nomination(pod.key)

    def _pod_deleted(self, obj: JSONObject) -> None:
        key = _key(obj)
        self.queue.delete(key)
        self.snapshot.clear_nomination(key)
        self._last_failure.pop(key, None)
        if self.snapshot.remove_pod(key) is not None:
            self.queue.on_event(fw.ASSIGNED_POD_DELETE)

    def _node_deleted(self, node: JSONObject) -> None:
        self.snapshot.delete_node(str((node.get("metadata") or {}).get("name")))

    def _node_changed(self, old: JSONObject | None, new: JSONObject) -> None:
        self.snapshot.set_node(new)
        if old is None:
            self.queue.on_event(fw.NODE_ADD)
        elif _node_facts(old) != _node_facts(new):
            self.queue.on_event(fw.NODE_UPDATE)

    def _namespace_deleted(self, obj: JSONObject) -> None:
        self.snapshot.namespace_labels.pop(str((obj.get("metadata") or {}).get("name")), None)

    def _namespace_changed(self, obj: JSONObject) -> None:
        name = str((obj.get("metadata") or {}).get("name"))
        self.snapshot.namespace_labels[name] = dict((obj.get("metadata") or {}).get("labels") or {})
        self.queue.on_event(fw.NAMESPACE_CHANGE)

    # --- the loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Watch, wait for the caches, then schedule until cancelled."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            group.create_task(self.factory.run())
            await self.factory.wait_synced()
            log.info("scheduler: caches synced (%d nodes, %d pending pods)",
                     len(self.snapshot.nodes), len(self.queue))
            group.create_task(self.queue.run_flushers())
            while True:
                queued = await self.queue.pop()
                self.schedule_one(queued)
                await asyncio.sleep(0)  # let watch events and bindings in between decisions

    def schedule_one(self, queued: QueuedPod) -> None:
        pod = queued.pod
        try:
            decision = self.algorithm.schedule(pod, self.snapshot)
        except FitError as failure:
            self.unschedulable += 1
            self.queue.add_unschedulable(queued, failure.diagnosis.unschedulable_plugins)
            log.info("scheduler: %s unschedulable: %s", pod.key, failure.message)
            self._spawn(self._report_failure(pod, failure.message))
            if failure.nominee is not None:
                self.snapshot.nominate(pod, failure.nominee.node)
                self._spawn(self._preempt(pod, failure.nominee))
            return
        except Exception:  # a bug must cost one attempt of one pod, not the scheduler
            log.exception("scheduler: error scheduling %s; retrying after back-off", pod.key)
            self.queue.add_backoff(queued)
            return
        self.snapshot.clear_nomination(pod.key)
        plan = plan_volumes(pod, self.snapshot, self.snapshot.nodes[decision.node_name]) \
            if pod.claim_names else VolumePlan()
        assumed = self.snapshot.assume(pod, decision.node_name)
        self._spawn(self._bind(queued, assumed, decision.node_name, plan))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        assert self._group is not None, "schedule_one runs inside run()"
        self._group.create_task(work)

    async def _bind(self, queued: QueuedPod, pod: PodInfo, node: str, plan: VolumePlan) -> None:
        async with self._bind_slots:
            try:
                if not plan.empty:
                    await self._prepare_volumes(pod, node, plan)
                await self.client.bind(pod.namespace, pod.name, node)
            except (errors.APIError, OSError, TimeoutError) as exc:
                self.snapshot.forget(pod.key)
                release_volumes(plan, self.snapshot)
                self.queue.add_backoff(queued)
                log.warning("scheduler: binding %s to %s failed: %s", pod.key, node, exc)
                if not isinstance(exc, errors.NotFound):
                    await self._write_event(pod, events.FAILED_SCHEDULING,
                                            f"Binding rejected: {exc}", warning=True)
                return
        self.bound += 1
        self.queue.done(pod.key)
        await self._write_event(pod, events.SCHEDULED, events.scheduled_message(pod, node),
                                warning=False)

    async def _prepare_volumes(self, pod: PodInfo, node: str, plan: VolumePlan) -> None:
        """Upstream's PreBind: the provisioner learns the node; a static PV gets its claim
        (a PUT carrying the PV's resourceVersion, so two schedulers cannot both take it)."""
        for claim in plan.provision:
            await self.client.patch("persistentvolumeclaims", claim, {"metadata": {
                "annotations": {SELECTED_NODE_ANNOTATION: node}}}, pod.namespace,
                patch_type=PatchType.MERGE)
        for claim, volume in plan.static:
            spec = {**(volume.get("spec") or {}), "claimRef": {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": pod.namespace,
                "name": claim}}
            await self.client.update("persistentvolumes", {**volume, "spec": spec})

    async def _preempt(self, pod: PodInfo, candidate: Candidate) -> None:
        """Evict the victims (graceful delete, as upstream), then record the nomination."""
        node = candidate.node
        await asyncio.gather(*(self._evict(victim, pod, node) for victim in candidate.victims))
        try:
            await self.event_client.patch("pods", pod.name,
                                          {"status": {"nominatedNodeName": node}},
                                          pod.namespace, subresource="status")
        except (errors.APIError, OSError, TimeoutError) as exc:
            log.warning("scheduler: could not nominate %s for %s: %s", node, pod.key, exc)
        log.info("scheduler: %s preempted %d pod(s) on %s", pod.key, len(candidate.victims), node)

    async def _evict(self, victim: PodInfo, preemptor: PodInfo, node: str) -> None:
        try:
            await self.event_client.patch(
                "pods", victim.name, events.disruption_condition_patch(
                    self.settings.scheduler_name, self.clock.wall()),
                victim.namespace, subresource="status")
            await self.client.delete("pods", victim.name, victim.namespace)
        except errors.NotFound:
            return
        except (errors.APIError, OSError, TimeoutError) as exc:
            log.warning("scheduler: could not preempt %s: %s", victim.key, exc)
            return
        await self._write_event(victim, events.PREEMPTED,
                                events.preempted_message(preemptor, node), warning=False)

    async def _report_gated(self, pod: PodInfo) -> None:
        try:
            await self.event_client.patch("pods", pod.name, events.gated_condition_patch(
                self.clock.wall()), pod.namespace, subresource="status")
        except (errors.APIError, OSError, TimeoutError) as exc:
            log.warning("scheduler: could not mark %s gated: %s", pod.key, exc)

    async def _report_failure(self, pod: PodInfo, message: str) -> None:
        previous = self._last_failure.get(pod.key)
        now = self.clock.wall()
        try:
            if previous is not None and previous[1] == message:
                name, _, count = previous
                await self.event_client.patch("events", name, {
                    "count": count + 1, "lastTimestamp": events.rfc3339(now)}, pod.namespace,
                    patch_type=PatchType.MERGE)
                self._last_failure[pod.key] = (name, message, count + 1)
            else:
                body = events.pod_event(pod, reason=events.FAILED_SCHEDULING, message=message,
                                        warning=True, now=now, instance=self.settings.identity)
                await self.event_client.create("events", body, pod.namespace)
                self._last_failure[pod.key] = (body["metadata"]["name"], message, 1)
            await self.event_client.patch("pods", pod.name,
                                    events.unschedulable_condition_patch(message, now),
                                    pod.namespace, subresource="status")
        except (errors.APIError, OSError, TimeoutError) as exc:
            self._last_failure.pop(pod.key, None)
            log.warning("scheduler: could not report %s unschedulable: %s", pod.key, exc)

    async def _write_event(self, pod: PodInfo, reason: str, message: str, *, warning: bool
                           ) -> None:
        body = events.pod_event(pod, reason=reason, message=message, warning=warning,
                                now=self.clock.wall(), instance=self.settings.identity)
        try:
            await self.event_client.create("events", body, pod.namespace)
        except (errors.APIError, OSError, TimeoutError) as exc:
            log.warning("scheduler: could not record %s for %s: %s", reason, pod.key, exc)
