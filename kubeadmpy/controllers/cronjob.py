"""The CronJob controller: a Job for every time the schedule fires.

Upstream's rules kept: standard 5-field cron or @hourly-style descriptors (croniter parses
them), evaluated in spec.timeZone (UTC by default); the Job is `<cronjob>-<scheduled unix
minutes>` — so a time is never run twice, even across restarts — with the
`batch.kubernetes.io/cronjob-scheduled-timestamp` annotation and a controller reference; only
the most recent missed time runs (more than 100 missed is reported in the log); a start later
than startingDeadlineSeconds is skipped; concurrencyPolicy Allow / Forbid / Replace; suspend;
status.active, lastScheduleTime, lastSuccessfulTime; finished Jobs beyond
successfulJobsHistoryLimit (3) / failedJobsHistoryLimit (1) are deleted, oldest first.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from kubeadmpy.client import errors
from kubeadmpy.client.controller import Controller, Request, Result, TerminalError
from kubeadmpy.client.informer import Informer
from kubeadmpy.client.rest import Client
from kubeadmpy.controllers.common import (
    JSONObject,
    controller_ref,
    meta,
    owner_keys,
    parse_time,
)
from kubeadmpy.controllers.events import EventRecorder
from kubeadmpy.controllers.registry import ControllerContext

log = logging.getLogger(__name__)
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
MAX_MISSED = 100


def schedule_times(schedule: str, zone: str, since: datetime, until: datetime
                   ) -> tuple[list[datetime], datetime]:
    """Fire times in (since, until] (at most MAX_MISSED + 1 of the latest) and the next one
    after `until`. Raises ValueError for a schedule or zone that cannot be used."""
    if not croniter.is_valid(schedule):
        raise ValueError(f"unparseable schedule {schedule!r}")
    try:
        tz = ZoneInfo(zone) if zone else UTC
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {zone!r}") from exc
    it = croniter(schedule, since.astimezone(tz))
    times: list[datetime] = []
    while True:
        moment: datetime = it.get_next(datetime)
        if moment > until:
            return times, moment
        times.append(moment)
        if len(times) > MAX_MISSED + 1:
            times.pop(0)


def job_name(cronjob: str, scheduled: datetime) -> str:
    return f"{cronjob}-{int(scheduled.timestamp()) // 60}"


def job_finished(job: JSONObject) -> str:
    """"Complete", "Failed" or "" for a running Job."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return str(condition["type"])
    return ""


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CronJobController:
    name = "cronjob-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        self.client: Client = ctx.client
        self.cronjobs: Informer = ctx.informers.informer("cronjobs.batch")
        self.jobs: Informer = ctx.informers.informer("jobs.batch")
        self.controller = Controller(self.name, self.reconcile,
                                     workers=ctx.options.concurrent_cronjob_syncs,
                                     clock=ctx.clock)
        self.events = EventRecorder(ctx.client, self.name)
        self.controller.watch(self.cronjobs)
        self.controller.watch(self.jobs, self._job_requests)

    async def run(self) -> None:
        await self.controller.run()

    def _job_requests(self, job: JSONObject) -> list[Request]:
        ns = str(meta(job).get("namespace") or "")
        return [Request(ns, k.rpartition("/")[2]) for k in owner_keys(job, "CronJob")]

    async def reconcile(self, request: Request) -> Result | None:
        cached = self.cronjobs.store.get(request.key)
        if cached is None or meta(cached).get("deletionTimestamp"):
            return None
        cj = copy.deepcopy(cached)
        spec = cj.get("spec") or {}
        uid = meta(cj)["uid"]
        jobs = [j for j in self.jobs.store.list(request.namespace)
                if any(r.get("uid") == uid and r.get("controller")
                       for r in meta(j).get("ownerReferences") or [])]
        status: JSONObject = copy.deepcopy(cj.get("status") or {})
        running = [j for j in jobs if not job_finished(j)]
        for job in jobs:
            if job_finished(job) == "Complete":
                done = parse_time((job.get("status") or {}).get("completionTime"))
                last = parse_time(status.get("lastSuccessfulTime"))
                if done is not None and (last is None or done > last):
                    status["lastSuccessfulTime"] = _rfc3339(datetime.fromtimestamp(done, UTC))
        now = datetime.now(UTC)
        since_text = status.get("lastScheduleTime") or meta(cj).get("creationTimestamp")
        since = datetime.fromtimestamp(parse_time(since_text) or now.timestamp(), UTC)
        try:
            missed, next_time = schedule_times(str(spec.get("schedule", "")),
                                               str(spec.get("timeZone") or ""), since, now)
        except ValueError as exc:
            raise TerminalError(f"cronjob {request.key}: {exc}") from exc
        if len(missed) > MAX_MISSED:
            log.warning("cronjob %s: too many missed start times (> %d); running the latest",
                        request.key, MAX_MISSED)
        if missed and not spec.get("suspend"):
            scheduled = missed[-1]
            deadline = spec.get("startingDeadlineSeconds")
            late = deadline is not None and now > scheduled + timedelta(seconds=int(deadline))
            policy = spec.get("concurrencyPolicy", "Allow")
            if late:
                log.info("cronjob %s: missed %s beyond startingDeadlineSeconds", request.key,
                         _rfc3339(scheduled))
            elif policy == "Forbid" and running:
                log.info("cronjob %s: not starting %s, a job is still running (Forbid)",
                         request.key, _rfc3339(scheduled))
                next_time = now + timedelta(seconds=10)  # retry while the time is still due
            else:
                if policy == "Replace":
                    for job in running:
                        with contextlib.suppress(errors.NotFound):
                            await self.client.delete("jobs.batch", meta(job)["name"],
                                                     request.namespace,
                                                     propagation_policy="Background")
                    running = []
                created = await self._create_job(cj, scheduled)
                if created is not None:
                    running.append(created)
                status["lastScheduleTime"] = _rfc3339(scheduled)
        status["active"] = [{"apiVersion": "batch/v1", "kind": "Job",
                             "name": meta(j)["name"], "namespace": meta(j)["namespace"],
                             "uid": meta(j)["uid"],
                             "resourceVersion": meta(j).get("resourceVersion")}
                            for j in sorted(running, key=lambda j: meta(j)["name"])]
        if not status["active"]:
            del status["active"]
        if _without_versions(status) != _without_versions(cj.get("status") or {}):
            with contextlib.suppress(errors.NotFound):
                await self.client.update_status("cronjobs.batch", {**cj, "status": status})
        await self._trim_history(spec, jobs)
        wait = max(0.1, (next_time - datetime.now(UTC)).total_seconds() + 0.1)
        return Result(requeue_after=wait)

    async def _create_job(self, cj: JSONObject, scheduled: datetime) -> JSONObject | None:
        template = copy.deepcopy((cj.get("spec") or {}).get("jobTemplate") or {})
        tmeta = template.get("metadata") or {}
        zone = str((cj.get("spec") or {}).get("timeZone") or "")
        local = scheduled.astimezone(ZoneInfo(zone)) if zone else scheduled
        annotations = {**(tmeta.get("annotations") or {}),
                       SCHEDULED_ANNOTATION: local.isoformat().replace("+00:00", "Z")}
        body: JSONObject = {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": job_name(meta(cj)["name"], scheduled),
                         "namespace": meta(cj)["namespace"],
                         "labels": dict(tmeta.get("labels") or {}),
                         "annotations": annotations,
                         "ownerReferences": [controller_ref(cj)]},
            "spec": template.get("spec") or {}}
        try:
            created = await self.client.create("jobs.batch", body, meta(cj)["namespace"])
        except errors.AlreadyExists:
            return None  # this time already ran (e.g. before a restart)
        self.events.normal(cj, "SuccessfulCreate", f"Created job {meta(created)['name']}")
        return created

    async def _trim_history(self, spec: JSONObject, jobs: list[JSONObject]) -> None:
        limits = {"Complete": spec.get("successfulJobsHistoryLimit", 3),
                  "Failed": spec.get("failedJobsHistoryLimit", 1)}
        for kind, limit in limits.items():
            if limit is None:
                continue
            done = sorted((j for j in jobs if job_finished(j) == kind
                           and not meta(j).get("deletionTimestamp")),
                          key=lambda j: parse_time((j.get("status") or {}).get("startTime")
                                                   or meta(j).get("creationTimestamp")) or 0.0)
            for job in done[:max(0, len(done) - int(limit))]:
                with contextlib.suppress(errors.NotFound):
                    await self.client.delete("jobs.batch", meta(job)["name"],
                                             meta(job)["namespace"],
                                             propagation_policy="Background")


def _without_versions(status: JSONObject) -> JSONObject:
    """Status compared without the active jobs' resourceVersions (they change with every Job
    status update; rewriting the CronJob for that would be noise)."""
    clean = copy.deepcopy(status)
    for ref in clean.get("active") or []:
        ref.pop("resourceVersion", None)
    return clean


def new_controller(ctx: ControllerContext) -> CronJobController:
    return CronJobController(ctx)
