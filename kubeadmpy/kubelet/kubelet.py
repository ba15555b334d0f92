"""The kubelet: pod sources, one worker per pod, the runtime relist, node status and Lease.

`Kubelet.run` owns every task in one task group (cancel it to stop; running pods keep running,
as upstream's do when the kubelet stops). Static pods start before any API server answers: that
is how the control plane comes up. API pods and orphan clean-up wait until the pod informer has
synced, so a restarted kubelet adopts its running pods instead of killing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeadmpy.client import (
    Client,
    Clock,
    EventHandler,
    Informer,
    InformerOptions,
    Preconditions,
    RealClock,
    errors,
)
from kubeadmpy.cri import CRIClient, CRIError, api
from kubeadmpy.kubelet import podutil, runtime, staticpods
from kubeadmpy.kubelet.backoff import Backoff
from kubeadmpy.kubelet.events import Recorder
from kubeadmpy.kubelet.node import MachineFacts, NodeStatusReporter, machine_facts
from kubeadmpy.kubelet.probing import ProbeFallback, make_probe_manager
from kubeadmpy.kubelet.settings import KubeletSettings
from kubeadmpy.kubelet.status import StatusManager
from kubeadmpy.kubelet.volumes import VolumeError, VolumeManager
from kubeadmpy.kubelet.worker import NodeFacts, PodWorker, Probes, WorkerContext

log = logging.getLogger(__name__)
JSONObject = dict[str, Any]
ORPHAN_GRACE_SECONDS = 2


@dataclass
class _Desired:
    pod: JSONObject
    source: str  # "file" or "api"


@dataclass
class KubeletState:
    """What tests (and the server) can observe."""

    workers: dict[str, PodWorker] = field(default_factory=dict)
    sources_ready: asyncio.Event = field(default_factory=asyncio.Event)


class Kubelet:
    def __init__(self, settings: KubeletSettings, client: Client, cri: CRIClient,
                 clock: Clock | None = None, facts: MachineFacts | None = None,
                 probes: Probes | None = None) -> None:
        self.settings = settings
        self.client = client
        self.cri = cri
        self.clock = clock or RealClock()
        self.facts = facts or machine_facts(settings)
        self.node_name = settings.node_name
        self.desired: dict[str, _Desired] = {}
        self.mirrors: dict[tuple[str, str], JSONObject] = {}  # (ns, name) → mirror pod
        self.state = KubeletState()
        self.recorder = Recorder(client, self.clock, self.node_name)
        self.reporter = NodeStatusReporter(client, cri, settings, self.facts, self.clock)
        self.statuses = StatusManager(client, self.clock, self._status_target)
        self.probes: Probes = probes or make_probe_manager(cri, self.clock)
        _connect_probes(self.probes, self)
        self.informer = Informer(client, "pods", InformerOptions(
            field_selector=f"spec.nodeName={self.node_name}"), clock=self.clock)
        self.informer.add_handler(EventHandler(self._api_pod_added, self._api_pod_updated,
                                               self._api_pod_deleted))
        self.static = staticpods.StaticPodDirectory(Path(settings.static_pod_path),
                                                    self.node_name) \
            if settings.static_pod_path else None
        node_facts = NodeFacts(self.node_name, self.facts.host_ip, self.facts.memory_bytes,
                               self.facts.allocatable(settings))
        self.volumes = VolumeManager(settings.pods_dir, self._get_object, self._get_token,
                                     lambda: node_facts.allocatable)
        backoff = settings.backoff
        self.ctx = WorkerContext(
            cri=cri, settings=settings, clock=self.clock,
            crash_backoff=Backoff(self.clock, backoff.initial_seconds, backoff.max_seconds),
            pull_backoff=Backoff(self.clock, backoff.initial_seconds, backoff.max_seconds),
            volumes=self.volumes, statuses=self.statuses, probes=self.probes,
            recorder=self.recorder, node=node_facts, get_object=self._get_object,
            list_services=self._services_for, delete_api_pod=self._delete_api_pod, runtime_pod=self._runtime_pod)
        self._terminated: set[str] = set()
        self._static_scanned = False
        self._mirror_wake = asyncio.Event()
        self._runtime_seen: dict[str, tuple[tuple[str, int], ...]] = {}
        self._group: asyncio.TaskGroup | None = None
        self.api_server: Any = None  # kubeadmpy.kubelet.server.KubeletServer, set by run()

    # --- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            self._group = group
            group.create_task(self.reporter.register())
            group.create_task(self.reporter.run_status_loop())
            group.create_task(self.reporter.run_lease_loop())
            group.create_task(self.statuses.run())
            group.create_task(self.recorder.run())
            group.create_task(self.informer.run())
            group.create_task(self._static_loop())
            group.create_task(self._relist_loop())
            group.create_task(self._mirror_loop())
            group.create_task(self._sources_ready())
            runner = getattr(self.probes, "run", None)
            if runner is not None:
                group.create_task(runner())

    async def _sources_ready(self) -> None:
        await self.informer.wait_synced()
        while self.static is not None and not self._static_scanned:
            await self.clock.sleep(0.1)
        self.state.sources_ready.set()
        self._relist_now()
        try:
            await self._remove_orphaned_pod_dirs()
        except CRIError as exc:
            log.warning("orphaned pod folders: %s", exc)

    async def _remove_orphaned_pod_dirs(self) -> None:
        """Volumes of pods that went away while the kubelet was down (nothing in CRI)."""
        known = set(await runtime.list_runtime_pods(self.cri))
        pods_dir = self.settings.pods_dir
        found = await asyncio.to_thread(
            lambda: [p.name for p in pods_dir.iterdir()] if pods_dir.is_dir() else [])
        for uid in found:
            if uid not in self.desired and uid not in known and \
                    uid not in self.state.workers:
                log.info("removing the folder of orphaned pod %s", uid)
                try:
                    await asyncio.to_thread(self.volumes.teardown, uid)
                except VolumeError as exc:
                    log.warning("%s", exc)

    def _relist_now(self) -> None:
        self._runtime_seen.clear()

    # --- sources ------------------------------------------------------------------------------

    def _set_desired(self, uid: str, pod: JSONObject | None, source: str) -> None:
        if pod is None:
            self.desired.pop(uid, None)
        else:
            self.desired[uid] = _Desired(pod, source)
        self._ensure_worker(uid)

    def _api_pod_added(self, pod: JSONObject) -> None:
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        if staticpods.CONFIG_MIRROR in annotations:
            meta = pod["metadata"]
            self.mirrors[(meta["namespace"], meta["name"])] = pod
            self._mirror_wake.set()
            return
        uid = str(pod["metadata"]["uid"])
        if uid in self._terminated:
            return
        self._set_desired(uid, pod, "api")

    def _api_pod_updated(self, old: JSONObject, new: JSONObject) -> None:
        uid = str((new.get("metadata") or {}).get("uid", ""))
        entry = self.desired.get(uid)
        if entry is not None and not _differ_semantically(entry.pod, new):
            entry.pod = new  # a status write (often our own): no reason to sync again
            return
        self._api_pod_added(new)

    def _api_pod_deleted(self, pod: JSONObject) -> None:
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        meta = pod["metadata"]
        if staticpods.CONFIG_MIRROR in annotations:
            self.mirrors.pop((meta["namespace"], meta["name"]), None)
            self._mirror_wake.set()
            return
        self._terminated.discard(str(meta["uid"]))
        if str(meta["uid"]) in self.desired:
            self._set_desired(str(meta["uid"]), None, "api")

    async def _static_loop(self) -> None:
        if self.static is None:
            return
        period = min(1.0, self.settings.file_check_frequency_seconds)
        while True:
            previous = set(self.static.pods)
            await asyncio.to_thread(self.static.scan)
            self._static_scanned = True
            current = self.static.pods
            for uid in previous - set(current):
                self._set_desired(uid, None, "file")
            for uid, pod in current.items():
                if uid not in self.desired:
                    self._set_desired(uid, pod, "file")
            if previous != set(current):
                self._mirror_wake.set()
            await self.clock.sleep(period)

    async def _mirror_loop(self) -> None:
        await self.reporter.registered.wait()
        while True:
            self._mirror_wake.clear()
            try:
                await self._reconcile_mirrors()
            except errors.APIError as exc:
                log.warning("mirror pods: %s", exc)
            await self.clock.wait(self._mirror_wake, self.clock.now() + 10.0)

    async def _reconcile_mirrors(self) -> None:
        static = {uid: entry.pod for uid, entry in self.desired.items()
                  if entry.source == "file"}
        wanted = {(p["metadata"]["namespace"], p["metadata"]["name"]): p
                  for p in static.values()}
        for key, pod in wanted.items():
            mirror = self.mirrors.get(key)
            hash_ = ((mirror or {}).get("metadata") or {}).get("annotations", {}).get(
                staticpods.CONFIG_MIRROR)
            if (mirror is None or hash_ != pod["metadata"]["uid"]) and \
                    await staticpods.ensure_mirror_pod(self.client, pod, self.reporter.node_uid):
                self.statuses.mark_dirty(pod["metadata"]["uid"])
        for key, mirror in list(self.mirrors.items()):
            if key not in wanted and self.informer.has_synced():
                await staticpods.delete_mirror_pod(self.client, mirror)

    # --- workers ------------------------------------------------------------------------------

    def _ensure_worker(self, uid: str) -> None:
        worker = self.state.workers.get(uid)
        if worker is not None:
            worker.wake.set()
            return
        if self._group is None:
            return
        worker = self.state.workers[uid] = PodWorker(self.ctx, uid)
        self._group.create_task(self._work(worker), name=f"pod-worker-{uid}")

    async def _work(self, worker: PodWorker) -> None:
        uid = worker.uid
        try:
            while True:
                worker.wake.clear()
                entry = self.desired.get(uid)
                pod = entry.pod if entry else None
                if pod is None or (pod["metadata"].get("deletionTimestamp")):
                    await self._finish(worker, entry)
                    return
                try:
                    due = await worker.sync(pod)
                except (CRIError, OSError, errors.APIError) as exc:
                    log.warning("pod %s: sync failed: %s", podutil.pod_full_name(pod), exc)
                    due = 2.0
                except Exception:  # one pod's bug must not stop the node's other pods
                    log.exception("pod %s: sync failed", podutil.pod_full_name(pod))
                    due = 10.0
                await self.clock.wait(worker.wake, self.clock.now() + due)
        finally:
            if self.state.workers.get(uid) is worker:
                del self.state.workers[uid]

    async def _finish(self, worker: PodWorker, entry: _Desired | None) -> None:
        pod = entry.pod if entry else worker.pod
        grace = podutil.grace_period(pod) if pod else ORPHAN_GRACE_SECONDS
        while True:
            try:
                await worker.terminate(pod, grace)
                break
            except CRIError as exc:
                log.warning("pod %s: termination failed: %s; retrying", worker.uid, exc)
                await self.clock.sleep(1.0)
        if entry is not None and entry.source == "api":
            self._terminated.add(worker.uid)
            await self.statuses.flush()
            for attempt in range(10):  # the API may be briefly away; the pod must not stay
                try:
                    await self._delete_api_pod(entry.pod)
                    break
                except errors.APIError as exc:
                    log.warning("pod %s: final delete: %s; retrying", worker.uid, exc)
                    await self.clock.sleep(min(5.0, 0.5 * 2 ** attempt))
        self.statuses.forget(worker.uid)

    async def _delete_api_pod(self, pod: JSONObject) -> None:
        """The final, grace-0 delete that removes a terminated pod from the API."""
        meta = pod["metadata"]
        with contextlib.suppress(errors.NotFound, errors.Conflict):
            await self.client.delete("pods", meta["name"], meta["namespace"],
                                     grace_period_seconds=0,
                                     preconditions=Preconditions(uid=str(meta["uid"])))

    async def _relist_loop(self) -> None:
        """PLEG: list CRI every second; wake the workers of pods whose containers changed,
        and terminate pods nobody wants once every source has been read."""
        while True:
            try:
                pods = await runtime.list_runtime_pods(self.cri)
            except CRIError as exc:
                log.warning("relist: %s", exc)
                pods = None
            if pods is not None:
                seen = {uid: pod.signature() for uid, pod in pods.items()}
                for uid, signature in seen.items():
                    if self._runtime_seen.get(uid) == signature:
                        continue
                    if uid in self.state.workers:
                        self.state.workers[uid].wake.set()
                    elif uid not in self.desired and self._orphans_may_go(pods[uid]):
                        self._ensure_worker(uid)
                self._runtime_seen = seen
            await self.clock.sleep(self.settings.pod_relist_seconds)

    def _orphans_may_go(self, pod: runtime.RuntimePod) -> bool:
        if not self.state.sources_ready.is_set():
            return False
        if self.static is not None and not self._static_scanned:
            return False
        live = [c for c in pod.containers if c.state == api.CONTAINER_RUNNING] + \
            [s for s in pod.sandboxes if s.state == api.SANDBOX_READY]
        return bool(live) or bool(pod.containers) or bool(pod.sandboxes)

    async def _runtime_pod(self, uid: str) -> runtime.RuntimePod:
        selector = {runtime.POD_UID: uid}
        sandboxes = await self.cri.list_pod_sandbox(api.PodSandboxFilter(
            label_selector=selector))
        containers = await self.cri.list_containers(api.ContainerFilter(
            label_selector=selector))
        pod = runtime.RuntimePod(uid)
        pod.sandboxes = [runtime.RuntimeSandbox(s.id, s.state, s.metadata.attempt,
                                                s.created_at) for s in sandboxes]
        pod.containers = [runtime.RuntimeContainer(
            c.id, c.labels.get(runtime.CONTAINER_NAME, c.metadata.name), c.pod_sandbox_id,
            c.state, c.metadata.attempt, c.created_at,
            c.annotations.get(runtime.CONTAINER_HASH, ""),
            int(c.annotations.get(runtime.RESTART_COUNT, "0") or 0)) for c in containers]
        return pod

    # --- what workers and the server ask --------------------------------------------------------

    def _status_target(self, uid: str) -> tuple[str, str] | None:
        entry = self.desired.get(uid)
        if entry is None:
            return None
        meta = entry.pod["metadata"]
        return str(meta["namespace"]), str(meta["name"])

    async def _services_for(self, pod: JSONObject) -> list[JSONObject]:
        """The Services a pod's service-link variables come from: the API server's own and,
        with enableServiceLinks, those of its namespace. A static pod starts without them
        (its API server may be the pod itself), and so does any pod while the API is away."""
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        if annotations.get(staticpods.CONFIG_SOURCE) == "file":
            return []
        namespace = str((pod.get("metadata") or {}).get("namespace") or "default")
        found: list[JSONObject] = []
        try:
            kubernetes = await self._get_object("services", "default", "kubernetes")
            if kubernetes is not None:
                found.append(kubernetes)
            if (pod.get("spec") or {}).get("enableServiceLinks", True) is not False:
                listed = await self.client.list("services", namespace)
                found.extend({**item, "metadata": {**(item.get("metadata") or {}),
                                                   "namespace": namespace}}
                             for item in listed.items)
        except (errors.APIError, OSError) as exc:
            log.warning("service links for pod %s/%s: %s", namespace,
                        (pod.get("metadata") or {}).get("name"), exc)
        return found

    async def _get_object(self, kind: str, namespace: str, name: str) -> JSONObject | None:
        try:
            return await self.client.get(kind, name, namespace)
        except errors.NotFound:
            return None

    async def _get_token(self, namespace: str, account: str, pod: JSONObject, audience: str,
                         expiration: int) -> str:
        body: JSONObject = {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": [audience] if audience else [],
                     "expirationSeconds": expiration,
                     "boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                        "name": pod["metadata"]["name"],
                                        "uid": pod["metadata"]["uid"]}}}
        try:
            answer = await self.client.create("serviceaccounts", body, namespace, name=account,
                                              subresource="token")
        except errors.APIError as exc:
            from kubeadmpy.kubelet.volumes import VolumeError
            raise VolumeError(f"failed to fetch token: {exc}") from exc
        return str((answer.get("status") or {}).get("token", ""))

    async def lookup(self, namespace: str, name: str) -> Any:
        """kubeadmpy.kubelet.server's PodLookup: the pod's sandbox and containers (current and
        previous instance with their CRI log files)."""
        from kubeadmpy.kubelet.server.lookup import ContainerRef, PodRef
        for uid, entry in self.desired.items():
            meta = entry.pod["metadata"]
            if meta["namespace"] != namespace or meta["name"] != name:
                continue
            state = await self._runtime_pod(uid)
            sandbox = state.latest_sandbox()
            containers = {}
            for spec in podutil.init_containers(entry.pod) + podutil.containers(entry.pod):
                mine = sorted((c for c in state.containers if c.name == spec["name"]),
                              key=lambda c: (c.created_at, c.attempt), reverse=True)
                paths = [await self._log_path(c.id) for c in mine[:2]]
                containers[spec["name"]] = ContainerRef(
                    spec["name"], mine[0].id if mine else "", paths[0] if paths else "",
                    paths[1] if len(paths) > 1 else "",
                    bool(mine) and mine[0].state == api.CONTAINER_RUNNING)
            return PodRef(namespace, name, uid, sandbox.id if sandbox else "", containers)
        return None

    async def _log_path(self, container_id: str) -> str:
        try:
            return str((await self.cri.container_status(container_id)).status.log_path)
        except CRIError:
            return ""

    async def pods(self) -> list[JSONObject]:
        """The pods this kubelet runs with their latest computed status (for /pods)."""
        result = []
        for uid, entry in self.desired.items():
            pod = dict(entry.pod)
            status = self.statuses.get(uid)
            if status is not None:
                pod["status"] = status
            result.append(pod)
        return result

    # --- probe callbacks --------------------------------------------------------------------------

    async def liveness_failed(self, uid: str, name: str, container_id: str,
                              message: str) -> None:
        """Kill a container whose liveness probe failed; the worker restarts it with back-off."""
        entry = self.desired.get(uid)
        if entry is None:
            return
        self.recorder.pod_event(entry.pod, "Normal", "Killing",
                                f"Container {name} failed liveness probe, will be restarted")
        with contextlib.suppress(CRIError):
            await self.cri.stop_container(container_id, podutil.grace_period(entry.pod))
        self.probe_changed(uid)

    def probe_event(self, uid: str, container: str, reason: str, message: str) -> None:
        entry = self.desired.get(uid)
        if entry is not None:
            self.recorder.pod_event(entry.pod, "Warning", reason, message)

    def probe_changed(self, uid: str) -> None:
        worker = self.state.workers.get(uid)
        if worker is not None:
            worker.wake.set()


def _differ_semantically(old: JSONObject, new: JSONObject) -> bool:
    """Whether a pod changed in a way the worker acts on (upstream: not for status alone)."""
    def facts(pod: JSONObject) -> tuple[Any, ...]:
        meta = pod.get("metadata") or {}
        return (pod.get("spec"), meta.get("labels"), meta.get("annotations"),
                meta.get("deletionTimestamp"), meta.get("deletionGracePeriodSeconds"))
    return facts(old) != facts(new)


def _connect_probes(probes: Probes, kubelet: Kubelet) -> None:
    """Give the probe manager our callbacks (attributes, when it has them)."""
    if isinstance(probes, ProbeFallback):
        return
    with contextlib.suppress(AttributeError):
        probes.on_liveness_failure = kubelet.liveness_failed  # type: ignore[attr-defined]
    with contextlib.suppress(AttributeError):
        probes.on_change = kubelet.probe_changed  # type: ignore[attr-defined]
    with contextlib.suppress(AttributeError):
        probes.on_event = kubelet.probe_event  # type: ignore[attr-defined]
