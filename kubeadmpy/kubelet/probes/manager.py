"""The kubelet's probe manager: one worker per (pod, container, probe kind), results the pod
workers and the status manager read.

Semantics follow the kubelet's prober: a worker waits `initialDelaySeconds` after the container
started, then probes every `periodSeconds` with `timeoutSeconds`; `successThreshold` successes
in a row set a result and `failureThreshold` failures in a row clear it. Readiness starts as
"not ready", liveness as "healthy". While a startup probe has not succeeded, liveness and
readiness are not run; once it succeeds it stops. When liveness (or startup) crosses its
failure threshold, the manager awaits `on_liveness_failure(uid, name, container_id, message)`
with the upstream event text ("Liveness probe failed: HTTP probe failed with statuscode: 500");
the pod worker owns the kill and restart (with back-off), and the worker holds until
`container_started` reports the new container. Every failed attempt is also reported through
`on_event` as an "Unhealthy" warning, as upstream records one event per failure.

The manager never creates, starts or removes containers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubeadmpy.client.clock import Clock, RealClock
from kubeadmpy.cri import CRIClient
from kubeadmpy.kubelet.probes import checks
from kubeadmpy.kubelet.probes.checks import ProbeOutcome, Result

log = logging.getLogger(__name__)

LivenessFailure = Callable[[str, str, str, str], Awaitable[None]]
ProbeEvent = Callable[[str, str, str, str], None]  # uid, container, reason, message

KINDS = (("startup", "startupProbe", "Startup"), ("readiness", "readinessProbe", "Readiness"),
         ("liveness", "livenessProbe", "Liveness"))
DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1,
            "successThreshold": 1, "failureThreshold": 3}


def probe_settings(probe: Mapping[str, Any]) -> dict[str, int]:
    """The five timing fields, with the API's defaults where the spec leaves them out."""
    return {key: int(probe.get(key) or default) if key != "initialDelaySeconds"
            else int(probe.get(key) or 0) for key, default in DEFAULTS.items()}


async def run_probe(cri: CRIClient, probe: Mapping[str, Any], container: Mapping[str, Any],
                    container_id: str, pod_ip: str) -> ProbeOutcome:
    """One attempt of whatever handler the probe has."""
    timeout = probe_settings(probe)["timeoutSeconds"]
    if "httpGet" in probe:
        return await checks.http_probe(probe["httpGet"], container, pod_ip, timeout)
    if "tcpSocket" in probe:
        return await checks.tcp_probe(probe["tcpSocket"], container, pod_ip, timeout)
    if "exec" in probe:
        return await checks.exec_probe(cri, container_id, probe["exec"], timeout)
    if "grpc" in probe:
        return await checks.grpc_probe(probe["grpc"], pod_ip, timeout)
    return ProbeOutcome(Result.UNKNOWN, "probe has no handler (exec, httpGet, tcpSocket, grpc)")


@dataclass
class _ContainerState:
    spec: Mapping[str, Any]
    container_id: str = ""
    started_at: float = 0.0
    started: bool = False  # startup probe passed (or none)
    ready: bool = False
    workers: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass
class _PodState:
    pod: Mapping[str, Any]
    pod_ip: str
    containers: dict[str, _ContainerState]


class ProbeManager:
    """Probes of every pod on the node; run `await manager.run()` in the kubelet's task group
    (or call `close()` when done). The callbacks may be given here or assigned later."""

    def __init__(self, cri: CRIClient, clock: Clock | None = None, *,
                 on_liveness_failure: LivenessFailure | None = None,
                 on_change: Callable[[str], None] | None = None,
                 on_event: ProbeEvent | None = None) -> None:
        self.cri = cri
        self.clock: Clock = clock or RealClock()
        self.on_liveness_failure = on_liveness_failure
        self.on_change = on_change
        self.on_event = on_event
        self._pods: dict[str, _PodState] = {}
        self._group: asyncio.TaskGroup | None = None
        self._running = asyncio.Event()

    async def run(self) -> None:
        """Own the workers' tasks until cancelled."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            self._running.set()
            try:
                await asyncio.Event().wait()
            finally:
                self._group = None
                self._running.clear()
                for pod in self._pods.values():
                    for state in pod.containers.values():
                        self._stop_workers(state)

    async def close(self) -> None:
        """Stop every worker (what leaving run() does)."""
        tasks = [t for pod in self._pods.values() for state in pod.containers.values()
                 for t in state.workers]
        for pod in self._pods.values():
            for state in pod.containers.values():
                self._stop_workers(state)
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- what the pod workers tell us ---------------------------------------------------

    def add_pod(self, pod: Mapping[str, Any], container_ids: Mapping[str, str],
                pod_ip: str) -> None:
        """Track a pod (again). Containers whose id is unchanged keep their results and
        workers; others already running (ids given) are probed from now."""
        uid = str(pod["metadata"]["uid"])
        specs = {str(c["name"]): c for c in pod.get("spec", {}).get("containers") or []}
        previous = self._pods.get(uid)
        kept: dict[str, _ContainerState] = {}
        if previous is not None:
            for name, state in previous.containers.items():
                same = name in specs and state.container_id and \
                    container_ids.get(name) == state.container_id and state.spec == specs[name]
                if same:
                    kept[name] = state
                else:
                    self._stop_workers(state)
        containers = {name: kept.get(name) or _ContainerState(spec)
                      for name, spec in specs.items()}
        self._pods[uid] = _PodState(pod, pod_ip, containers)
        for name, container_id in container_ids.items():
            if container_id and name in containers and name not in kept:
                self.container_started(uid, name, container_id, None)

    def remove_pod(self, uid: str) -> None:
        state = self._pods.pop(uid, None)
        if state is not None:
            for container in state.containers.values():
                self._stop_workers(container)

    def set_pod_ip(self, uid: str, pod_ip: str) -> None:
        if uid in self._pods:
            self._pods[uid].pod_ip = pod_ip

    def container_started(self, uid: str, name: str, container_id: str,
                          started_at: float | datetime | None) -> None:
        """A (new) container runs: probes start over for it (initial delay from `started_at`)."""
        pod = self._pods.get(uid)
        if pod is None or name not in pod.containers:
            return
        state = pod.containers[name]
        self._stop_workers(state)
        state.container_id = container_id
        state.started_at = self._clock_time(started_at)
        state.started = "startupProbe" not in state.spec
        state.ready = False
        for kind, field_name, label in KINDS:
            if field_name in state.spec:
                self._spawn(state, self._worker(uid, name, state, kind, state.spec[field_name],
                                                label))
        self._changed(uid)

    def container_stopped(self, uid: str, name: str) -> None:
        pod = self._pods.get(uid)
        if pod is not None and name in pod.containers:
            state = pod.containers[name]
            self._stop_workers(state)
            state.container_id, state.started, state.ready = "", False, False
            self._changed(uid)

    # --- what the status manager reads ----------------------------------------------------

    def is_started(self, uid: str, name: str) -> bool:
        state = self._state(uid, name)
        return state is not None and bool(state.container_id) and state.started

    def is_ready(self, uid: str, name: str) -> bool:
        state = self._state(uid, name)
        if state is None or not state.container_id or not state.started:
            return False
        return state.ready if "readinessProbe" in state.spec else True

    # --- internals ---------------------------------------------------------------------

    def _state(self, uid: str, name: str) -> _ContainerState | None:
        pod = self._pods.get(uid)
        return pod.containers.get(name) if pod is not None else None

    def _clock_time(self, started_at: float | datetime | None) -> float:
        if started_at is None:
            return self.clock.now()
        if isinstance(started_at, datetime):
            return self.clock.now() - max(0.0, (self.clock.wall() - started_at).total_seconds())
        return float(started_at)

    def _spawn(self, state: _ContainerState, work: Awaitable[None]) -> None:
        # Inside run() the workers belong to its task group; without it (a caller that never
        # runs the manager) they are plain tasks, still cancelled by remove_pod and close.
        if self._group is not None:
            state.workers.append(self._group.create_task(work))  # type: ignore[arg-type]
        else:
            state.workers.append(asyncio.get_running_loop().create_task(work))  # type: ignore[arg-type]

    @staticmethod
    def _stop_workers(state: _ContainerState) -> None:
        for task in state.workers:
            if task is not asyncio.current_task():
                task.cancel()
        state.workers.clear()

    def _changed(self, uid: str) -> None:
        if self.on_change is not None:
            self.on_change(uid)

    async def _worker(self, uid: str, name: str, state: _ContainerState, kind: str,
                      probe: Mapping[str, Any], label: str) -> None:
        timing = probe_settings(probe)
        container_id = state.container_id
        await self.clock.sleep(state.started_at + timing["initialDelaySeconds"]
                               - self.clock.now())
        successes = failures = 0
        while state.container_id == container_id:
            if kind == "startup" and state.started:
                return
            if kind != "startup" and not state.started:
                await self.clock.sleep(timing["periodSeconds"])
                continue
            pod = self._pods.get(uid)
            if pod is None:
                return
            try:
                outcome = await run_probe(self.cri, probe, state.spec, container_id, pod.pod_ip)
            except Exception as exc:  # a probe bug must not stop the worker
                log.exception("probe %s of %s/%s failed to run", kind, uid, name)
                outcome = ProbeOutcome(Result.UNKNOWN, str(exc))
            if outcome.ok:
                successes, failures = successes + 1, 0
            else:
                successes, failures = 0, failures + 1
            if outcome.result is Result.WARNING and self.on_event is not None:
                self.on_event(uid, name, "ProbeWarning", f"{label} probe warning: "
                              f"{outcome.message}")
            if not outcome.ok and self.on_event is not None:
                self.on_event(uid, name, "Unhealthy", f"{label} probe failed: {outcome.message}")
            if await self._apply(uid, name, state, kind, label, timing, successes, failures,
                                 outcome):
                return  # held until the next container_started
            await self.clock.sleep(timing["periodSeconds"])

    async def _apply(self, uid: str, name: str, state: _ContainerState, kind: str, label: str,
                     timing: Mapping[str, int], successes: int, failures: int,
                     outcome: ProbeOutcome) -> bool:
        """Turn counters into results; True when the worker must hold (container to restart)."""
        if kind == "readiness":
            if successes >= timing["successThreshold"] and not state.ready:
                state.ready = True
                self._changed(uid)
            elif failures >= timing["failureThreshold"] and state.ready:
                state.ready = False
                self._changed(uid)
            return False
        if kind == "startup" and outcome.ok:
            state.started = True
            self._changed(uid)
            return True
        if failures < timing["failureThreshold"]:
            return False
        if kind == "startup":
            state.ready = False
        message = f"{label} probe failed: {outcome.message}"
        log.info("%s/%s container %s: %s", uid, name, state.container_id[:12], message)
        if self.on_liveness_failure is not None:
            try:
                await self.on_liveness_failure(uid, name, state.container_id, message)
            except Exception:  # the pod worker's problem; the probe stays on hold either way
                log.exception("on_liveness_failure for %s/%s", uid, name)
        return True
