"""The Job controller: run pods until `completions` succeed, at most `parallelism` at a time,
and give up after `backoffLimit` failures or `activeDeadlineSeconds`.

Counting follows upstream's finalizer tracking, because finished pods can be deleted by anyone
at any time: every pod gets the `batch.kubernetes.io/job-tracking` finalizer; a finished pod
is first recorded in `status.uncountedTerminatedPods`, then loses its finalizer, then moves
into `status.succeeded`/`failed` — so no pod is counted twice or lost. Conditions are
upstream's: Complete (CompletionsReached) or Failed (BackoffLimitExceeded / DeadlineExceeded,
preceded by FailureTarget as in 1.31+), plus SuccessCriteriaMet before Complete. New pods after
a failure wait the upstream back-off (10 s doubling, at most 6 min). NonIndexed mode only;
Indexed jobs get their completion index annotation but no per-index accounting.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from typing import Any

from kubeadmpy.client import errors
from kubeadmpy.client.controller import Controller, Request, Result
from kubeadmpy.client.informer import Informer
from kubeadmpy.client.rest import Client, PatchType
from kubeadmpy.controllers.common import (
    Expectations,
    JSONObject,
    find_condition,
    is_pod_ready,
    meta,
    now_rfc3339,
    observe_into,
    owner_keys,
    parse_time,
    pod_from_template,
    set_condition,
)
from kubeadmpy.controllers.events import EventRecorder
from kubeadmpy.controllers.registry import ControllerContext
from kubeadmpy.controllers.replicaset import slow_start

log = logging.getLogger(__name__)
TRACKING = "batch.kubernetes.io/job-tracking"
BACKOFF_BASE = 10.0
BACKOFF_MAX = 360.0


def finished(job: JSONObject) -> bool:
    status = job.get("status") or {}
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in status.get("conditions") or [])


def phase(pod: JSONObject) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


class JobController:
    name = "job-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        self.client: Client = ctx.client
        self.jobs: Informer = ctx.informers.informer("jobs.batch")
        self.pods: Informer = ctx.informers.informer("pods")
        self.expectations = Expectations(ctx.clock)
        self.controller = Controller(self.name, self.reconcile,
                                     workers=ctx.options.concurrent_job_syncs, clock=ctx.clock)
        self.events = EventRecorder(ctx.client, self.name)
        self.controller.watch(self.jobs)
        self.controller.watch(self.pods, self._pod_requests)
        self.pods.add_handler(observe_into(self.expectations, "Job"))
        self.removed: set[str] = set()  # uids of pods this controller deleted on purpose

    async def run(self) -> None:
        await self.controller.run()

    def _pod_requests(self, pod: JSONObject) -> list[Request]:
        ns = str(meta(pod).get("namespace") or "")
        return [Request(ns, k.rpartition("/")[2]) for k in owner_keys(pod, "Job")]

    async def reconcile(self, request: Request) -> Result | None:
        cached = self.jobs.store.get(request.key)
        if cached is None:  # gone: its pods must not keep our finalizer
            self.expectations.forget(request.key)
            for pod in self.pods.store.list(request.namespace):
                if TRACKING in (meta(pod).get("finalizers") or []) and \
                        f"{request.namespace}/{request.name}" in owner_keys(pod, "Job"):
                    await self._drop_finalizer(pod)
            return None
        job = copy.deepcopy(cached)
        uid = meta(job)["uid"]
        pods = [p for p in self.pods.store.list(request.namespace)
                if any(r.get("uid") == uid and r.get("controller")
                       for r in meta(p).get("ownerReferences") or [])]
        status: JSONObject = copy.deepcopy(job.get("status") or {})
        now = now_rfc3339()
        status.setdefault("startTime", now)
        await self._track(job, pods, status)
        spec = job.get("spec") or {}
        active = [p for p in pods if phase(p) not in ("Succeeded", "Failed")
                  and not meta(p).get("deletionTimestamp")]
        succeeded = int(status.get("succeeded") or 0) + len(
            (status.get("uncountedTerminatedPods") or {}).get("succeeded") or [])
        failed = int(status.get("failed") or 0) + len(
            (status.get("uncountedTerminatedPods") or {}).get("failed") or [])
        requeue: float | None = None
        if not finished(job):
            completions = spec.get("completions")
            done = succeeded >= int(completions) if completions is not None else \
                succeeded > 0 and not active
            deadline = spec.get("activeDeadlineSeconds")
            started = parse_time(status.get("startTime")) or time.time()
            if done:
                await self._delete_all(active)
                active = []
                set_condition(status, "SuccessCriteriaMet", "True", "CompletionsReached",
                              "Reached expected number of succeeded pods", now)
                set_condition(status, "Complete", "True", "CompletionsReached",
                              "Reached expected number of succeeded pods", now)
                status["completionTime"] = now
                self.events.normal(job, "Completed", "Job completed")
            elif failed > int(spec.get("backoffLimit", 6)):
                self.events.warning(job, "BackoffLimitExceeded",
                                    "Job has reached the specified backoff limit")
                active = await self._fail(status, active, "BackoffLimitExceeded",
                                          "Job has reached the specified backoff limit", now)
            elif spec.get("suspend"):
                if active:
                    await self._delete_all(active)
                    active = []
                if (find_condition(status, "Suspended") or {}).get("status") != "True":
                    set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended",
                                  now)
                    self.events.normal(job, "Suspended", "Job suspended")
            elif deadline is not None and time.time() - started >= int(deadline):
                active = await self._fail(status, active, "DeadlineExceeded",
                                          "Job was active longer than specified deadline", now)
            elif self.expectations.satisfied(request.key):
                if (find_condition(status, "Suspended") or {}).get("status") == "True":
                    set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", now)
                    status["startTime"] = now  # the deadline counts from the resume
                    self.events.normal(job, "Resumed", "Job resumed")
                wait = self._backoff(pods, failed)
                if wait > 0:
                    requeue = wait
                else:
                    await self._scale(job, active, succeeded, request.key)
            if deadline is not None and requeue is None and not finished({"status": status}):
                requeue = max(1.0, started + int(deadline) - time.time())
        status["active"] = len(active)
        status["ready"] = sum(is_pod_ready(p) for p in active)
        status["terminating"] = sum(bool(meta(p).get("deletionTimestamp")) for p in pods)
        if _comparable(status) != _comparable(job.get("status") or {}):
            with contextlib.suppress(errors.NotFound):
                await self.client.update_status("jobs.batch", {**job, "status": status})
        return Result(requeue_after=requeue) if requeue else None

    async def _track(self, job: JSONObject, pods: list[JSONObject], status: JSONObject) -> None:
        """Record finished pods as uncounted, drop their finalizers, then count them."""
        uncounted: JSONObject = dict(status.get("uncountedTerminatedPods") or {})
        recorded = set(uncounted.get("succeeded") or []) | set(uncounted.get("failed") or [])
        fresh: dict[str, list[str]] = {"succeeded": [], "failed": []}
        for pod in pods:
            if TRACKING not in (meta(pod).get("finalizers") or []) or \
                    meta(pod)["uid"] in recorded:
                continue
            if phase(pod) in ("Succeeded", "Failed"):
                fresh["succeeded" if phase(pod) == "Succeeded" else "failed"].append(
                    meta(pod)["uid"])
            elif meta(pod).get("deletionTimestamp"):
                if finished(job) or meta(pod)["uid"] in self.removed:
                    await self._drop_finalizer(pod)  # removed by us: not a failure
                else:  # deleted by someone else before finishing: a failure, as upstream
                    fresh["failed"].append(meta(pod)["uid"])
        if any(fresh.values()):  # the record is stored before any finalizer goes
            for bucket, uids in fresh.items():
                uncounted[bucket] = [*(uncounted.get(bucket) or []), *uids]
            status["uncountedTerminatedPods"] = uncounted
            stored = await self.client.update_status("jobs.batch", {**job, "status": status})
            job["metadata"] = stored["metadata"]  # the next write needs its resourceVersion
        by_uid = {meta(p)["uid"]: p for p in pods}
        for bucket in ("succeeded", "failed"):
            for pod_uid in uncounted.get(bucket) or []:
                found = by_uid.get(pod_uid)
                if found is not None and TRACKING in (meta(found).get("finalizers") or []):
                    await self._drop_finalizer(found)
                status[bucket] = int(status.get(bucket) or 0) + 1
        status["uncountedTerminatedPods"] = {}

    async def _drop_finalizer(self, pod: JSONObject) -> None:
        finalizers = [f for f in meta(pod).get("finalizers") or [] if f != TRACKING]
        with contextlib.suppress(errors.NotFound):
            await self.client.patch("pods", meta(pod)["name"],
                                    {"metadata": {"finalizers": finalizers or None}},
                                    meta(pod)["namespace"], patch_type=PatchType.MERGE)

    def _backoff(self, pods: list[JSONObject], failed: int) -> float:
        """Seconds still to wait before a new pod after `failed` failures."""
        if failed == 0:
            return 0.0
        delay = min(BACKOFF_BASE * 2 ** (failed - 1), BACKOFF_MAX)
        last = 0.0
        for pod in pods:
            if phase(pod) == "Failed":
                for c in (pod.get("status") or {}).get("containerStatuses") or []:
                    at = parse_time(((c.get("state") or {}).get("terminated") or {})
                                    .get("finishedAt"))
                    last = max(last, at or 0.0)
                last = max(last, parse_time(_ready_time(pod)) or 0.0)
        if not last:
            return 0.0
        return float(max(0.0, last + delay - time.time()))

    async def _scale(self, job: JSONObject, active: list[JSONObject], succeeded: int,
                     key: str) -> None:
        spec = job.get("spec") or {}
        parallelism = int(spec.get("parallelism", 1))
        completions = spec.get("completions")
        wanted = parallelism if completions is None else \
            min(parallelism, max(0, int(completions) - succeeded))
        diff = wanted - len(active)
        ns = meta(job)["namespace"]
        if diff > 0:
            self.expectations.expect(key, adds=diff)

            async def create() -> None:
                pod = pod_from_template(spec.get("template") or {}, job,
                                        generate_name=f"{meta(job)['name']}-")
                pod["metadata"]["finalizers"] = [*pod["metadata"].get("finalizers", []),
                                                 TRACKING]
                created = await self.client.create("pods", pod, ns)
                self.events.normal(job, "SuccessfulCreate",
                                   f"Created pod: {meta(created)['name']}")
            skipped, error = await slow_start(diff, create)
            if skipped:
                self.expectations.lower(key, adds=skipped)
            if error is not None:
                raise error
        elif diff < 0:
            victims = sorted(active, key=lambda p: is_pod_ready(p))[:-diff]
            self.expectations.expect(key, dels=len(victims))
            await self._delete_all(victims)

    async def _delete_all(self, pods: list[JSONObject]) -> None:
        for pod in pods:
            self.removed.add(meta(pod)["uid"])
            with contextlib.suppress(errors.NotFound):
                await self.client.delete("pods", meta(pod)["name"], meta(pod)["namespace"])

    async def _fail(self, status: JSONObject, active: list[JSONObject], reason: str,
                    message: str, now: str) -> list[JSONObject]:
        await self._delete_all(active)
        if find_condition(status, "FailureTarget") is None:
            set_condition(status, "FailureTarget", "True", reason, message, now)
        set_condition(status, "Failed", "True", reason, message, now)
        return []


def _comparable(status: JSONObject) -> JSONObject:
    """Status without empty values: the server may drop `{}`/0, which must not look like a
    change (or every sync would write again and wake itself up)."""
    return {k: v for k, v in status.items() if v not in (None, 0, {}, [])}


def _ready_time(pod: JSONObject) -> Any:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("lastTransitionTime")
    return None


def new_controller(ctx: ControllerContext) -> JobController:
    return JobController(ctx)
