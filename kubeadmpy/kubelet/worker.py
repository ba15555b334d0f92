"""One pod's worker: compares the pod spec with what CRI runs and makes the next step of change.

`PodWorker.sync` is level-triggered and idempotent: it reads the runtime's view of the pod
(grouped by labels, so a restarted kubelet adopts what runs), ensures the sandbox, the volumes,
the init containers in order and then the containers, applying restartPolicy with upstream's
CrashLoopBackOff and image-pull back-off, and finally publishes the pod status. `terminate`
runs preStop hooks, stops containers with the grace period and removes everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubeadmpy.client import Clock
from kubeadmpy.cri import CRIClient, CRIError, CRINotFound, api
from kubeadmpy.kubelet import containers, hooks, podutil, runtime
from kubeadmpy.kubelet.backoff import Backoff
from kubeadmpy.kubelet.env import EnvError, ObjectGetter, container_env
from kubeadmpy.kubelet.events import Recorder
from kubeadmpy.kubelet.service_env import service_environment
from kubeadmpy.kubelet.settings import KubeletSettings
from kubeadmpy.kubelet.status import (
    StatusManager,
    Waiting,
    container_status,
    now_rfc3339,
    pod_conditions,
    pod_phase,
)
from kubeadmpy.kubelet.volumes import VolumeError, VolumeManager

log = logging.getLogger(__name__)
JSONObject = dict[str, Any]
LOCAL_REGISTRY = "kubeadmpy.local/"
MIN_GRACE_AFTER_HOOK = 2


class Probes(Protocol):
    """What the worker needs from the probe manager (kubeadmpy.kubelet.probes)."""

    def add_pod(self, pod: JSONObject, container_ids: dict[str, str], pod_ip: str) -> None: ...
    def remove_pod(self, uid: str) -> None: ...
    def container_started(self, uid: str, name: str, container_id: str,
                          started_at: float | None) -> None: ...
    def is_ready(self, uid: str, name: str) -> bool: ...
    def is_started(self, uid: str, name: str) -> bool: ...


@dataclass
class NodeFacts:
    """Values of the node every pod worker reads."""

    name: str
    host_ip: str
    memory_capacity: int
    allocatable: dict[str, str] = field(default_factory=dict)


@dataclass
class WorkerContext:
    cri: CRIClient
    settings: KubeletSettings
    clock: Clock
    crash_backoff: Backoff
    pull_backoff: Backoff
    volumes: VolumeManager
    statuses: StatusManager
    probes: Probes
    recorder: Recorder
    node: NodeFacts
    get_object: ObjectGetter
    list_services: Callable[[JSONObject], Awaitable[list[JSONObject]]]
    delete_api_pod: Callable[[JSONObject], Awaitable[None]]
    runtime_pod: Callable[[str], Awaitable[runtime.RuntimePod]]


class PodWorker:
    """State kept between syncs of one pod (by uid)."""

    def __init__(self, ctx: WorkerContext, uid: str) -> None:
        self.ctx = ctx
        self.uid = uid
        self.waiting: dict[str, Waiting] = {}
        self.sandbox_id = ""
        self.pod_ip = ""
        self.terminal = False
        self.probed_ids: dict[str, str] = {}
        self.probes_added = False
        self.wake = asyncio.Event()
        self.pod: JSONObject | None = None
        self.started_at = ""
        self.finished_at: dict[str, float] = {}  # container id → finish time on our clock
        self.pull_failed_at: dict[str, float] = {}

    # --- the sync step ---------------------------------------------------------------------

    async def sync(self, pod: JSONObject) -> float:
        """One step towards `pod`; seconds until the next sync is due."""
        ctx = self.ctx
        self.pod = pod
        self.started_at = self.started_at or \
            str((pod.get("status") or {}).get("startTime") or now_rfc3339(ctx.clock))
        state = await ctx.runtime_pod(self.uid)
        due = ctx.settings.sync_frequency_seconds
        sandbox = state.latest_sandbox()
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            self.terminal = True  # a finished pod never runs again (also after a restart)
        if sandbox is not None and sandbox.state != api.SANDBOX_READY and \
                podutil.restart_policy(pod) == "Never" and state.containers:
            self.terminal = True  # upstream: no new sandbox for a pod that must not restart
        if not self.terminal and (sandbox is None or sandbox.state != api.SANDBOX_READY):
            await self._kill_containers(state, 0)
            attempt = 0 if sandbox is None else sandbox.attempt + 1
            if not await self._create_sandbox(pod, attempt):
                return 2.0
            state = await ctx.runtime_pod(self.uid)
        elif sandbox is not None:
            self.sandbox_id = sandbox.id
            if not self.pod_ip:
                await self._read_sandbox_ip()
        if not self.terminal:
            mounts = await self._volumes(pod)
            if mounts is None:
                due = 2.0
            else:
                due = min(due, await self._containers(pod, state, mounts))
                state = await ctx.runtime_pod(self.uid)
        await self.publish(pod, state)
        return due

    async def _create_sandbox(self, pod: JSONObject, attempt: int) -> bool:
        ctx = self.ctx
        s = ctx.settings
        dns = runtime.pod_dns(pod, s.cluster_dns, s.cluster_domain, s.resolv_conf)
        config = runtime.sandbox_config(pod, attempt, dns, s.pod_logs_dir,
                                        podutil.cgroup_parent(pod, s.cgroup_driver))
        try:
            self.sandbox_id = await ctx.cri.run_pod_sandbox(config)
        except CRIError as exc:
            ctx.recorder.pod_event(pod, "Warning", "FailedCreatePodSandBox",
                                   f"Failed to create pod sandbox: {exc}")
            for spec in podutil.containers(pod):
                self.waiting[spec["name"]] = Waiting("ContainerCreating")
            return False
        self.pod_ip = ""
        await self._read_sandbox_ip()
        return True

    async def _read_sandbox_ip(self) -> None:
        if podutil.is_host_network(self.pod or {}):
            self.pod_ip = self.ctx.node.host_ip
            return
        with contextlib.suppress(CRIError):
            status = (await self.ctx.cri.pod_sandbox_status(self.sandbox_id)).status
            self.pod_ip = status.network.ip

    async def _volumes(self, pod: JSONObject) -> dict[str, tuple[str, bool]] | None:
        """volume name → (host path, read-only); None when a volume is not ready yet."""
        try:
            volumes = await self.ctx.volumes.setup(pod, self.pod_ip, self.ctx.node.host_ip)
        except VolumeError as exc:
            self.ctx.recorder.pod_event(pod, "Warning", "FailedMount",
                                        f"MountVolume.SetUp failed: {exc}")
            for spec in podutil.init_containers(pod) + podutil.containers(pod):
                self.waiting.setdefault(spec["name"], Waiting("ContainerCreating"))
            return None
        return {name: (str(path), name in volumes.read_only)
                for name, path in volumes.paths.items()}

    async def _containers(self, pod: JSONObject, state: runtime.RuntimePod,
                          mounts: dict[str, tuple[str, bool]]) -> float:
        """Init containers in order, then the app containers; the next sync's due time."""
        policy = podutil.restart_policy(pod)
        due = self.ctx.settings.sync_frequency_seconds
        in_sandbox = runtime.RuntimePod(state.uid, containers=[
            c for c in state.containers if c.sandbox_id == self.sandbox_id])
        for spec in podutil.init_containers(pod):
            latest = in_sandbox.latest(spec["name"])
            if latest is None:
                return min(due, await self._start(pod, spec, None, mounts, init=True))
            if latest.state in (api.CONTAINER_RUNNING, api.CONTAINER_CREATED):
                return due
            exit_code = await self._exit_code(latest.id)
            if exit_code == 0:
                continue
            if policy == "Never":
                self.terminal = True
                return due
            return min(due, await self._restart_with_backoff(pod, spec, latest, mounts,
                                                             init=True))
        for spec in podutil.containers(pod):
            latest = in_sandbox.latest(spec["name"]) or state.latest(spec["name"])
            if latest is None or latest.sandbox_id != self.sandbox_id:
                due = min(due, await self._start(pod, spec, latest, mounts))
                continue
            if latest.state == api.CONTAINER_RUNNING:
                self.waiting.pop(spec["name"], None)
                if latest.hash and latest.hash != runtime.container_hash(spec):
                    await self._stop(latest.id, podutil.grace_period(pod))
                continue
            if latest.state != api.CONTAINER_EXITED:
                continue
            exit_code = await self._exit_code(latest.id)
            if policy == "Never" or (policy == "OnFailure" and exit_code == 0):
                self.waiting.pop(spec["name"], None)
                continue
            due = min(due, await self._restart_with_backoff(pod, spec, latest, mounts))
        return due

    async def _exit_code(self, container_id: str) -> int:
        try:
            return int((await self.ctx.cri.container_status(container_id)).status.exit_code)
        except CRINotFound:
            return -1

    async def _restart_with_backoff(self, pod: JSONObject, spec: JSONObject,
                                    latest: runtime.RuntimeContainer,
                                    mounts: dict[str, tuple[str, bool]],
                                    init: bool = False) -> float:
        ctx = self.ctx
        finished = self.finished_at.get(latest.id)
        if finished is None:
            try:
                finished_ns = (await ctx.cri.container_status(latest.id)).status.finished_at
            except CRINotFound:
                finished_ns = 0
            # Back-off runs on the kubelet's clock: the finish time is mapped onto it once.
            age = max(0.0, time.time() - finished_ns / 1e9) if finished_ns else 0.0
            finished = self.finished_at[latest.id] = ctx.clock.now() - age
        key = f"{self.uid}/{spec['name']}"
        if ctx.crash_backoff.in_backoff_since(key, finished):
            delay = ctx.crash_backoff.delay(key)
            message = (f"back-off {_duration(delay)} restarting failed container="
                       f"{spec['name']} pod={podutil.pod_full_name(pod)}")
            if self.waiting.get(spec["name"]) != Waiting("CrashLoopBackOff", message):
                ctx.recorder.pod_event(pod, "Warning", "BackOff",
                                       "Back-off restarting failed container "
                                       f"{spec['name']} in pod {podutil.pod_full_name(pod)}")
            self.waiting[spec["name"]] = Waiting("CrashLoopBackOff", message)
            return max(0.05, ctx.crash_backoff.remaining(key, finished))
        ctx.crash_backoff.next(key, finished)
        return await self._start(pod, spec, latest, mounts, init=init)

    # --- starting a container ----------------------------------------------------------------

    async def _ensure_image(self, pod: JSONObject, spec: JSONObject) -> str | None:
        """The image reference to run, or None with the waiting reason recorded."""
        ctx = self.ctx
        image = str(spec.get("image", ""))
        name = spec["name"]
        policy = podutil.image_pull_policy(spec)
        present = await ctx.cri.image_status(image)
        local = image.startswith(LOCAL_REGISTRY)  # built here: there is no registry to ask
        if present is not None and (policy != "Always" or local):
            ctx.recorder.pod_event(pod, "Normal", "Pulled",
                                   f'Container image "{image}" already present on machine')
            return present.id
        if policy == "Never":
            message = f'Container image "{image}" is not present with pull policy of Never'
            self.waiting[name] = Waiting("ErrImageNeverPull", message)
            ctx.recorder.pod_event(pod, "Warning", "ErrImageNeverPull", message)
            return None
        key = f"pull/{self.uid}/{image}"
        failed_at = self.pull_failed_at.get(key)
        if failed_at is not None and ctx.pull_backoff.in_backoff_since(key, failed_at) and \
                self.waiting.get(name, Waiting("")).reason in ("ErrImagePull",
                                                               "ImagePullBackOff"):
            message = f'Back-off pulling image "{image}"'
            self.waiting[name] = Waiting("ImagePullBackOff", message)
            ctx.recorder.pod_event(pod, "Normal", "BackOff", message)
            return None
        ctx.recorder.pod_event(pod, "Normal", "Pulling", f'Pulling image "{image}"')
        began = ctx.clock.now()
        try:
            reference = await ctx.cri.pull_image(image)
        except CRIError as exc:
            self.pull_failed_at[key] = ctx.clock.now()
            ctx.pull_backoff.next(key, self.pull_failed_at[key])
            error = grpc_error_text(exc)  # what upstream shows: the runtime's error
            self.waiting[name] = Waiting("ErrImagePull", error)
            ctx.recorder.pod_event(pod, "Warning", "Failed",
                                   f'Failed to pull image "{image}": {error}')
            return None
        ctx.recorder.pod_event(pod, "Normal", "Pulled", f'Successfully pulled image "{image}" '
                               f"in {ctx.clock.now() - began:.3f}s")
        return reference

    async def _start(self, pod: JSONObject, spec: JSONObject,
                     previous: runtime.RuntimeContainer | None,
                     mounts: dict[str, tuple[str, bool]], init: bool = False) -> float:
        ctx = self.ctx
        name = spec["name"]
        if await self._ensure_image(pod, spec) is None:
            # Like upstream's pod workers: a failed sync is retried after the base back-off
            # with jitter, so ErrImagePull stays visible and later syncs show ImagePullBackOff.
            base = ctx.settings.backoff.initial_seconds
            return base * random.uniform(1.0, 1.5)
        restart_count = 0 if previous is None else previous.restart_count + 1
        try:
            config = await self._container_config(pod, spec, restart_count, mounts, init)
        except (EnvError, VolumeError) as exc:
            self.waiting[name] = Waiting("CreateContainerConfigError", str(exc))
            ctx.recorder.pod_event(pod, "Warning", "Failed", f"Error: {exc}")
            return 2.0
        dns = runtime.pod_dns(pod, ctx.settings.cluster_dns, ctx.settings.cluster_domain,
                              ctx.settings.resolv_conf)
        sandbox_config = runtime.sandbox_config(
            pod, 0, dns, ctx.settings.pod_logs_dir,
            podutil.cgroup_parent(pod, ctx.settings.cgroup_driver))
        try:
            container_id = await ctx.cri.create_container(self.sandbox_id, config,
                                                          sandbox_config)
        except CRIError as exc:
            self.waiting[name] = Waiting("CreateContainerError", exc.detail)
            ctx.recorder.pod_event(pod, "Warning", "Failed", f"Error: {exc.detail}")
            return 2.0
        ctx.recorder.pod_event(pod, "Normal", "Created", f"Created container {name}")
        try:
            await ctx.cri.start_container(container_id)
        except CRIError as exc:
            self.waiting[name] = Waiting("RunContainerError", exc.detail)
            ctx.recorder.pod_event(pod, "Warning", "Failed", f"Error: {exc.detail}")
            return 2.0
        ctx.recorder.pod_event(pod, "Normal", "Started", f"Started container {name}")
        self.waiting.pop(name, None)
        if previous is not None:
            await self._prune(name, keep={container_id, previous.id})
        return 0.0 if init else ctx.settings.sync_frequency_seconds

    async def _container_config(self, pod: JSONObject, spec: JSONObject, restart_count: int,
                                mounts: dict[str, tuple[str, bool]],
                                init: bool) -> api.ContainerConfig:
        ctx = self.ctx
        env = await container_env(pod, spec, ctx.get_object, pod_ip=self.pod_ip,
                                  host_ip=ctx.node.host_ip,
                                  node_allocatable=ctx.node.allocatable,
                                  service_links=service_environment(
                                      pod, await ctx.list_services(pod)))
        return containers.container_config(pod, spec, env, restart_count, mounts, init,
                                           ctx.node.memory_capacity)

    async def _prune(self, name: str, keep: set[str]) -> None:
        """Remove dead instances of `name` except the newest ones (kept for --previous)."""
        state = await self.ctx.runtime_pod(self.uid)
        for container in state.containers:
            if container.name == name and container.id not in keep and \
                    container.state == api.CONTAINER_EXITED:
                with contextlib.suppress(CRIError):
                    await self.ctx.cri.remove_container(container.id)

    # --- stopping ------------------------------------------------------------------------------

    async def _stop(self, container_id: str, grace: int) -> None:
        with contextlib.suppress(CRINotFound):
            await self.ctx.cri.stop_container(container_id, grace)

    async def _pre_stop(self, spec: JSONObject, container_id: str, grace: int) -> None:
        try:
            await hooks.run_pre_stop(self.ctx.cri, spec, container_id, grace, self.pod_ip)
        except hooks.HookError as exc:
            if self.pod is not None:
                self.ctx.recorder.pod_event(self.pod, "Warning", "FailedPreStopHook",
                                            f"PreStopHook failed: {exc}")

    async def _kill_containers(self, state: runtime.RuntimePod, grace: int) -> None:
        running = [c for c in state.containers if c.state == api.CONTAINER_RUNNING]
        await asyncio.gather(*(self._stop(c.id, grace) for c in running))

    async def terminate(self, pod: JSONObject | None, grace: int) -> None:
        """preStop, SIGTERM with `grace` seconds, then remove containers and sandboxes."""
        ctx = self.ctx
        state = await ctx.runtime_pod(self.uid)
        specs = {c["name"]: c for c in podutil.containers(pod or {})}
        running = [c for c in state.containers if c.state == api.CONTAINER_RUNNING]

        async def stop(container: runtime.RuntimeContainer) -> None:
            spec = specs.get(container.name)
            if pod is not None:
                ctx.recorder.pod_event(pod, "Normal", "Killing",
                                       f"Stopping container {container.name}")
            remaining = grace
            if spec is not None and grace > 0:
                began = ctx.clock.now()
                await self._pre_stop(spec, container.id, grace)
                # The hook's time comes out of the grace period; upstream keeps 2 s at least.
                remaining = max(MIN_GRACE_AFTER_HOOK, int(grace - (ctx.clock.now() - began)))
            await self._stop(container.id, remaining)
        await asyncio.gather(*(stop(c) for c in running))
        self.terminal = True
        if pod is not None:
            await self.publish(pod, await ctx.runtime_pod(self.uid), terminating=True)
        for sandbox in state.sandboxes:
            with contextlib.suppress(CRINotFound):
                await ctx.cri.stop_pod_sandbox(sandbox.id)
        for container in state.containers:
            with contextlib.suppress(CRINotFound):
                await ctx.cri.remove_container(container.id)
        for sandbox in state.sandboxes:
            with contextlib.suppress(CRINotFound):
                await ctx.cri.remove_pod_sandbox(sandbox.id)
        try:
            await asyncio.to_thread(ctx.volumes.teardown, self.uid)
        except VolumeError as exc:
            log.warning("%s", exc)  # the folder stays; orphan cleanup retries at next start
        ctx.probes.remove_pod(self.uid)
        ctx.crash_backoff.forget(f"{self.uid}/")
        ctx.pull_backoff.forget(f"pull/{self.uid}/")

    # --- status --------------------------------------------------------------------------------

    async def publish(self, pod: JSONObject, state: runtime.RuntimePod,
                      terminating: bool = False) -> JSONObject:
        """Compute the pod status from CRI and hand it to the status manager."""
        ctx = self.ctx
        init_statuses = [await self._status_of(pod, spec, state, init=True)
                         for spec in podutil.init_containers(pod)]
        statuses = [await self._status_of(pod, spec, state) for spec in
                    podutil.containers(pod)]
        if terminating:
            for entry in statuses:
                entry["ready"] = False
        if not terminating:
            self._tell_probes(pod, statuses)
        phase = pod_phase(pod, init_statuses, statuses)
        sandbox = state.latest_sandbox()
        sandbox_ready = sandbox is not None and sandbox.state == api.SANDBOX_READY
        if phase in ("Succeeded", "Failed") and not self.terminal:
            self.terminal = True
            if sandbox is not None and sandbox_ready:
                with contextlib.suppress(CRIError):
                    await ctx.cri.stop_pod_sandbox(sandbox.id)
                sandbox_ready = False
        status: JSONObject = {
            "phase": phase,
            "conditions": pod_conditions(pod, phase, sandbox_ready, init_statuses, statuses),
            "hostIP": ctx.node.host_ip, "hostIPs": [{"ip": ctx.node.host_ip}],
            "startTime": self.started_at, "qosClass": podutil.qos_class(pod),
            "containerStatuses": statuses,
        }
        if init_statuses:
            status["initContainerStatuses"] = init_statuses
        if self.pod_ip:
            status["podIP"] = self.pod_ip
            status["podIPs"] = [{"ip": self.pod_ip}]
        ctx.statuses.set(self.uid, status)
        return status

    def _tell_probes(self, pod: JSONObject, statuses: list[JSONObject]) -> None:
        """Register the pod with the probe manager once, then report container changes."""
        probes = self.ctx.probes
        ids = {s["name"]: s["containerID"].split("://", 1)[1] for s in statuses
               if s.get("containerID") and "running" in s["state"]}
        if not self.probes_added:
            probes.add_pod(pod, ids, self.pod_ip)
            self.probes_added = True
        else:
            for name, container_id in ids.items():
                if self.probed_ids.get(name) != container_id:
                    probes.container_started(self.uid, name, container_id, None)
            stopped = getattr(probes, "container_stopped", None)
            for name in set(self.probed_ids) - set(ids):
                if stopped is not None:
                    stopped(self.uid, name)
        self.probed_ids = ids

    async def _status_of(self, pod: JSONObject, spec: JSONObject, state: runtime.RuntimePod,
                         init: bool = False) -> JSONObject:
        ctx = self.ctx
        name = spec["name"]
        mine = sorted((c for c in state.containers if c.name == name),
                      key=lambda c: (c.created_at, c.attempt), reverse=True)
        current = previous = None
        if mine:
            with contextlib.suppress(CRINotFound):
                current = (await ctx.cri.container_status(mine[0].id)).status
        if len(mine) > 1:
            with contextlib.suppress(CRINotFound):
                previous = (await ctx.cri.container_status(mine[1].id)).status
        restart_count = mine[0].restart_count if mine else 0
        waiting = self.waiting.get(name)
        if waiting is None and init is False and current is None and \
                podutil.init_containers(pod):
            waiting = Waiting("PodInitializing")
        ready = ctx.probes.is_ready(self.uid, name) and not init
        started = ctx.probes.is_started(self.uid, name)
        return container_status(spec, current, previous, restart_count, waiting, ready,
                                started)


def grpc_error_text(exc: CRIError) -> str:
    """A CRI error as Go's gRPC client prints it: ``rpc error: code = NotFound desc = ...``."""
    code = "".join(word.capitalize() for word in exc.code.split("_"))
    return f"rpc error: code = {code} desc = {exc.detail}"


def _duration(seconds: float) -> str:
    """Go's time.Duration text for whole seconds: 10s, 1m20s, 5m0s."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    return f"{whole // 60}m{whole % 60}s"
