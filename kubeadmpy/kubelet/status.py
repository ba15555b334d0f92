"""Pod status: computed from what CRI reports, written to the API by one batching manager.

`container_status` and `pod_status` are pure functions from runtime facts to the API's shapes
(state waiting/running/terminated with upstream's reasons, lastState, restartCount, phase,
conditions); `StatusManager` keeps the newest status per pod, writes only what changed through
the status subresource, retries failures with back-off and never blocks a pod worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubeadmpy.client import Client, Clock, PatchType, errors
from kubeadmpy.cri import api
from kubeadmpy.kubelet import podutil

log = logging.getLogger(__name__)
JSONObject = dict[str, Any]
MAX_CONCURRENT_WRITES = 8


def rfc3339(nanoseconds: int) -> str:
    return datetime.fromtimestamp(nanoseconds / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_rfc3339(clock: Clock) -> str:
    return clock.wall().strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Waiting:
    """Why a container is not running (what the worker decided last)."""

    reason: str
    message: str = ""


def state_of(status: api.ContainerStatus) -> JSONObject:
    """A CRI container status as the API's ContainerState."""
    if status.state == api.CONTAINER_RUNNING:
        return {"running": {"startedAt": rfc3339(status.started_at)}}
    if status.state == api.CONTAINER_EXITED:
        reason = status.reason or ("Completed" if status.exit_code == 0 else "Error")
        terminated: JSONObject = {"exitCode": int(status.exit_code), "reason": reason,
                                  "finishedAt": rfc3339(status.finished_at),
                                  "containerID": f"containerd://{status.id}"}
        if status.started_at:
            terminated["startedAt"] = rfc3339(status.started_at)
        if status.message:
            terminated["message"] = status.message
        return {"terminated": terminated}
    return {"waiting": {"reason": "ContainerCreating"}}


def container_status(spec: JSONObject, current: api.ContainerStatus | None,
                     previous: api.ContainerStatus | None, restart_count: int,
                     waiting: Waiting | None, ready: bool, started: bool) -> JSONObject:
    """One entry of containerStatuses / initContainerStatuses."""
    result: JSONObject = {"name": spec["name"], "image": spec.get("image", ""),
                          "imageID": "", "restartCount": restart_count, "ready": False,
                          "started": False, "lastState": {}}
    if current is not None:
        result["containerID"] = f"containerd://{current.id}"
        result["imageID"] = current.image_ref
    running = current is not None and current.state == api.CONTAINER_RUNNING
    if waiting is not None and not running:
        result["state"] = {"waiting": {"reason": waiting.reason, **(
            {"message": waiting.message} if waiting.message else {})}}
        if current is not None and current.state == api.CONTAINER_EXITED:
            result["lastState"] = state_of(current)
    elif current is None:
        result["state"] = {"waiting": {"reason": "ContainerCreating"}}
    else:
        result["state"] = state_of(current)
        if previous is not None and previous.state == api.CONTAINER_EXITED:
            result["lastState"] = state_of(previous)
    result["ready"] = running and ready
    result["started"] = running and started
    return result


def _terminated_ok(status: JSONObject) -> bool:
    terminated = (status.get("state") or {}).get("terminated") or {}
    return bool(terminated) and terminated.get("exitCode") == 0


def pod_phase(pod: JSONObject, init: list[JSONObject], regular: list[JSONObject]) -> str:
    """Upstream's getPhase over the computed container statuses."""
    policy = podutil.restart_policy(pod)
    for status in init:
        terminated = (status.get("state") or {}).get("terminated")
        if terminated and terminated.get("exitCode") != 0 and policy == "Never":
            return "Failed"
        if not _terminated_ok(status):
            return "Pending"
    running = waiting = stopped = succeeded = 0
    for status in regular:
        state = status.get("state") or {}
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"].get("exitCode") == 0
        elif (status.get("lastState") or {}).get("terminated"):
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"


def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> JSONObject:
    condition: JSONObject = {"type": kind, "status": "True" if ok else "False"}
    if not ok and reason:
        condition["reason"] = reason
        if message:
            condition["message"] = message
    return condition


def pod_conditions(pod: JSONObject, phase: str, sandbox_ready: bool,
                   init: list[JSONObject], regular: list[JSONObject]) -> list[JSONObject]:
    incomplete = [s["name"] for s in init if not _terminated_ok(s)]
    unready = [s["name"] for s in regular if not s.get("ready")]
    finished = phase in ("Succeeded", "Failed")
    initialized = not incomplete or finished
    if finished:
        ready_reason, ready_message = "PodCompleted", ""
        ready = False
    elif not initialized:
        ready, ready_reason = False, "ContainersNotInitialized"
        ready_message = f"containers with incomplete status: [{' '.join(incomplete)}]"
    else:
        ready, ready_reason = not unready, "ContainersNotReady"
        ready_message = f"containers with unready status: [{' '.join(unready)}]"
    return [
        _condition("PodReadyToStartContainers", sandbox_ready and not finished),
        _condition("Initialized", initialized, "ContainersNotInitialized",
                   f"containers with incomplete status: [{' '.join(incomplete)}]"),
        _condition("Ready", ready, ready_reason, ready_message),
        _condition("ContainersReady", ready, ready_reason, ready_message),
        _condition("PodScheduled", True),
    ]


def carry_transition_times(old: JSONObject, new: JSONObject, stamp: str) -> None:
    """Keep lastTransitionTime of conditions whose status did not change."""
    before = {c.get("type"): c for c in old.get("conditions") or []}
    for condition in new.get("conditions") or []:
        previous = before.get(condition["type"])
        if previous and previous.get("status") == condition["status"] and \
                previous.get("lastTransitionTime"):
            condition["lastTransitionTime"] = previous["lastTransitionTime"]
        else:
            condition["lastTransitionTime"] = stamp
        condition.setdefault("lastProbeTime", None)


@dataclass
class _Entry:
    namespace: str
    name: str
    status: JSONObject
    written: JSONObject | None = None
    failures: int = 0


class StatusManager:
    """Newest status per pod uid, written through pods/status (merge patch of the status)."""

    def __init__(self, client: Client, clock: Clock,
                 resolve: Callable[[str], tuple[str, str] | None]) -> None:
        self.client = client
        self.clock = clock
        self.resolve = resolve  # pod uid → (namespace, API name): mirror pods for static pods
        self._entries: dict[str, _Entry] = {}
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()

    def get(self, uid: str) -> JSONObject | None:
        entry = self._entries.get(uid)
        return entry.status if entry else None

    def set(self, uid: str, status: JSONObject) -> None:
        target = self.resolve(uid)
        if target is None:
            return
        entry = self._entries.get(uid)
        if entry is None:
            carry_transition_times({}, status, now_rfc3339(self.clock))
            entry = self._entries[uid] = _Entry(target[0], target[1], status)
        else:
            carry_transition_times(entry.status, status, now_rfc3339(self.clock))
            entry.namespace, entry.name, entry.status = target[0], target[1], status
        if entry.written != status:
            self._dirty.add(uid)
            self._wake.set()

    def forget(self, uid: str) -> None:
        self._entries.pop(uid, None)
        self._dirty.discard(uid)

    def mark_dirty(self, uid: str) -> None:
        """Write again (the API object was recreated, e.g. a new mirror pod)."""
        entry = self._entries.get(uid)
        if entry is not None:
            entry.written = None
            self._dirty.add(uid)
            self._wake.set()

    async def flush(self) -> None:
        """Write every pending status once, several at a time (what the loop does; tests
        call it directly)."""
        pending = list(self._dirty)
        self._dirty.clear()
        limit = asyncio.Semaphore(MAX_CONCURRENT_WRITES)

        async def write(uid: str) -> None:
            async with limit:
                await self._write(uid)
        await asyncio.gather(*(write(uid) for uid in pending))

    async def _write(self, uid: str) -> None:
        entry = self._entries.get(uid)
        if entry is None:
            return
        status = entry.status
        try:
            await self.client.patch("pods", entry.name, {"status": status}, entry.namespace,
                                    patch_type=PatchType.MERGE, subresource="status")
            entry.written, entry.failures = status, 0
        except errors.NotFound:
            pass  # the pod is gone (or its mirror pod not created yet): nothing to write
        except errors.APIError as exc:
            entry.failures += 1
            log.warning("status of pod %s/%s: %s; will retry", entry.namespace, entry.name, exc)
            self._dirty.add(uid)

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()
            if self._dirty:  # failures: retry after a short pause, not in a busy loop
                await self.clock.sleep(min(5.0, 0.2 * max(
                    e.failures for e in self._entries.values())))
                self._wake.set()
