"""CronJobs: a missed schedule time runs once (only the latest), as a Job named after the
scheduled minute, owned by the CronJob; Forbid keeps a second one from starting while the first
runs. The test plays "the previous controller-manager" by setting lastScheduleTime in the past
instead of waiting for the clock to reach the next minute."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from workloads_harness import create_namespace, wait_for

from kubeadmpy.client import Client, PatchType
from kubeadmpy.controllers.manager import Manager

pytestmark = pytest.mark.timeout(120)


def cronjob(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
            "spec": {"schedule": "*/1 * * * *", "suspend": True, **spec, "jobTemplate": {
                "metadata": {"labels": {"team": "a"}},
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                    {"name": "c", "image": "busybox"}]}}}}}}


async def test_missed_schedule_runs_the_latest_time_once(
        admin: Client, controller_manager: Manager) -> None:
    ns = "cron"
    await create_namespace(admin, ns)
    await admin.create("cronjobs.batch", cronjob(), ns)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    past = (now - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await admin.patch("cronjobs.batch", "tick", {"status": {"lastScheduleTime": past}}, ns,
                      subresource="status", patch_type=PatchType.MERGE)
    await admin.patch("cronjobs.batch", "tick", {"spec": {"suspend": False}}, ns,
                      patch_type=PatchType.MERGE)

    async def jobs() -> list[dict[str, Any]]:
        return (await admin.list("jobs.batch", ns)).items
    created = await wait_for(jobs, "a Job for the missed time")
    await asyncio.sleep(1)
    created = await jobs()
    assert len(created) == 1  # three missed minutes, one Job: the latest
    job = created[0]
    latest = datetime.fromisoformat(
        job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
        .replace("Z", "+00:00"))
    assert latest >= now - timedelta(minutes=1)
    assert job["metadata"]["name"] == f"tick-{int(latest.timestamp()) // 60}"
    assert job["metadata"]["labels"]["team"] == "a"
    cj = await admin.get("cronjobs.batch", "tick", ns)
    ref = job["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["uid"], ref["controller"]) == ("CronJob", cj["metadata"]["uid"],
                                                            True)

    async def active() -> dict[str, Any] | None:
        st = (await admin.get("cronjobs.batch", "tick", ns)).get("status") or {}
        return st if st.get("active") else None
    st = await wait_for(active, "status.active")
    assert [a["name"] for a in st["active"]] == [job["metadata"]["name"]]
    assert st["lastScheduleTime"] == latest.strftime("%Y-%m-%dT%H:%M:%SZ")



async def test_forbid_starts_nothing_while_a_job_of_the_cronjob_runs(
        admin: Client, controller_manager: Manager) -> None:
    ns = "cron-forbid"
    await create_namespace(admin, ns)
    cj = await admin.create("cronjobs.batch", cronjob(concurrencyPolicy="Forbid"), ns)
    await admin.create("jobs.batch", {  # a run that is still going on
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {
            "name": "tick-earlier", "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "CronJob", "name": "tick",
                "uid": cj["metadata"]["uid"], "controller": True,
                "blockOwnerDeletion": True}]},
        "spec": cronjob()["spec"]["jobTemplate"]["spec"]}, ns)
    past = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await admin.patch("cronjobs.batch", "tick", {"status": {"lastScheduleTime": past}}, ns,
                      subresource="status", patch_type=PatchType.MERGE)
    await admin.patch("cronjobs.batch", "tick", {"spec": {"suspend": False}}, ns,
                      patch_type=PatchType.MERGE)

    async def active() -> dict[str, Any] | None:
        st = (await admin.get("cronjobs.batch", "tick", ns)).get("status") or {}
        return st if st.get("active") else None
    st = await wait_for(active, "the running Job in status.active")
    assert [a["name"] for a in st["active"]] == ["tick-earlier"]
    await asyncio.sleep(1.5)
    assert [j["metadata"]["name"] for j in (await admin.list("jobs.batch", ns)).items] == \
        ["tick-earlier"]
    assert st["lastScheduleTime"] == past  # the due time was not taken


async def test_finished_jobs_beyond_the_history_limits_are_deleted_oldest_first(
        admin: Client, controller_manager: Manager) -> None:
    ns = "cron-history"
    await create_namespace(admin, ns)
    cj = await admin.create("cronjobs.batch", cronjob(successfulJobsHistoryLimit=1,
                                                      failedJobsHistoryLimit=1), ns)
    owner = [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "tick",
              "uid": cj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    for index, outcome in enumerate(["Complete", "Complete", "Failed", "Complete", "Failed"]):
        name = f"tick-old-{index}"
        await admin.create("jobs.batch", {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "ownerReferences": owner},
            "spec": {**cronjob()["spec"]["jobTemplate"]["spec"], "suspend": True}}, ns)
        start = f"2026-01-01T00:0{index}:00Z"
        condition = {"type": outcome, "status": "True", "lastTransitionTime": start,
                     "reason": "Test", "message": "finished before this test"}
        # acting as a past job controller: these runs are finished
        status: dict[str, Any] = {"startTime": start, "conditions": [condition]}
        if outcome == "Complete":
            status["completionTime"] = start
            status["conditions"].insert(0, {**condition, "type": "SuccessCriteriaMet"})
        else:
            status["conditions"].insert(0, {**condition, "type": "FailureTarget"})
        await admin.patch("jobs.batch", name, {"status": status}, ns, subresource="status",
                          patch_type=PatchType.MERGE)
    await admin.patch("cronjobs.batch", "tick", {"metadata": {"labels": {"poke": "1"}}}, ns,
                      patch_type=PatchType.MERGE)

    async def trimmed() -> list[str] | None:
        names = sorted(j["metadata"]["name"] for j in (await admin.list("jobs.batch", ns)).items
                       if not j["metadata"].get("deletionTimestamp"))
        return names if names == ["tick-old-3", "tick-old-4"] else None
    await wait_for(trimmed, "only the newest Complete and the newest Failed job kept")
    st = (await admin.get("cronjobs.batch", "tick", ns)).get("status") or {}
    assert st.get("lastSuccessfulTime") == "2026-01-01T00:03:00Z"
