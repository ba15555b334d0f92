"""Jobs with the test as the kubelet (it reports each pod finished): completions and
parallelism respected, Complete condition read by the real `kubectl wait`; a failure beyond
backoffLimit ends in Failed/BackoffLimitExceeded; finished pods lose the tracking finalizer."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from apiserver_harness import Cluster
from workloads_harness import create_namespace, wait_for

from kubeadmpy.client import Client, PatchType, errors
from kubeadmpy.controllers.manager import Manager

pytestmark = pytest.mark.timeout(180)
TRACKING = "batch.kubernetes.io/job-tracking"


def job(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {**spec, "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "work", "image": "busybox"}]}}}}


async def finish_pod(client: Client, ns: str, name: str, *, exit_code: int) -> None:
    """Acting as the kubelet: the container ran and exited."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"phase": "Succeeded" if exit_code == 0 else "Failed", "containerStatuses": [
        {"name": "work", "image": "busybox", "imageID": "", "ready": False, "restartCount": 0,
         "state": {"terminated": {"exitCode": exit_code, "startedAt": now,
                                  "finishedAt": now, "reason": "Completed" if exit_code == 0
                                  else "Error"}}}]}
    await client.patch("pods", name, {"status": status}, ns, subresource="status")


async def test_job_runs_completions_with_parallelism_and_completes(
        cluster: Cluster, admin: Client, controller_manager: Manager) -> None:
    ns = "job-complete"
    await create_namespace(admin, ns)
    await admin.create("jobs.batch", job("pi", completions=3, parallelism=2), ns)
    finished: set[str] = set()
    most_active = 0
    deadline = time.monotonic() + 90
    while len(finished) < 3:
        assert time.monotonic() < deadline, f"only {sorted(finished)} finished"
        pods = (await admin.list("pods", ns, label_selector="job-name=pi")).items
        running = [p for p in pods if p["status"].get("phase") not in ("Succeeded", "Failed")]
        most_active = max(most_active, len(running))
        for pod in running[:1]:  # one finishes at a time
            assert TRACKING in pod["metadata"]["finalizers"]
            await finish_pod(admin, ns, pod["metadata"]["name"], exit_code=0)
            finished.add(pod["metadata"]["name"])
        await asyncio.sleep(0.2)
    assert most_active == 2
    await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "wait", "--for=condition=complete",
                            "job/pi", "--timeout=60s", timeout=90)
    status = (await admin.get("jobs.batch", "pi", ns))["status"]
    assert status["succeeded"] == 3 and status["active"] == 0 and status["completionTime"]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Complete"]["status"] == "True"
    pods = (await admin.list("pods", ns, label_selector="job-name=pi")).items
    assert len(pods) == 3 and not any(p["metadata"].get("finalizers") for p in pods)
    settled_rv = (await admin.get("jobs.batch", "pi", ns))["metadata"]["resourceVersion"]
    await asyncio.sleep(1.5)  # a finished Job is not rewritten by its controller
    assert (await admin.get("jobs.batch", "pi", ns))["metadata"]["resourceVersion"] == settled_rv


async def test_job_fails_after_backoff_limit(admin: Client,
                                            controller_manager: Manager) -> None:
    ns = "job-failed"
    await create_namespace(admin, ns)
    await admin.create("jobs.batch", job("broken", backoffLimit=0), ns)

    async def first_pod() -> list[dict[str, Any]]:
        return (await admin.list("pods", ns, label_selector="job-name=broken")).items
    pod = (await wait_for(first_pod, "the job's pod"))[0]
    await finish_pod(admin, ns, pod["metadata"]["name"], exit_code=1)

    async def failed() -> dict[str, Any] | None:
        st = (await admin.get("jobs.batch", "broken", ns)).get("status") or {}
        cond = {c["type"]: c for c in st.get("conditions") or []}
        return st if "Failed" in cond else None
    st = await wait_for(failed, "Failed condition")
    cond = {c["type"]: c for c in st["conditions"]}
    assert cond["Failed"]["reason"] == "BackoffLimitExceeded"
    assert cond["Failed"]["message"] == "Job has reached the specified backoff limit"
    assert st["failed"] == 1
    assert len((await admin.list("pods", ns)).items) == 1  # no retry after the limit
    await admin.delete("jobs.batch", "broken", ns, propagation_policy="Background")

    async def pods_gone() -> bool:
        try:
            return not (await admin.list("pods", ns)).items
        except errors.APIError:
            return False
    await wait_for(pods_gone, "the finished pod collected with its Job")


async def test_suspending_a_job_removes_its_pods_and_resuming_brings_them_back(
        admin: Client, controller_manager: Manager) -> None:
    ns = "job-suspend"
    await create_namespace(admin, ns)
    await admin.create("jobs.batch", job("batch", parallelism=2, completions=4), ns)

    async def pods(count: int) -> bool:
        items = [p for p in (await admin.list("pods", ns)).items
                 if not p["metadata"].get("deletionTimestamp")]
        return len(items) == count and not [p for p in (await admin.list("pods", ns)).items
                                            if p["metadata"].get("deletionTimestamp")]
    await wait_for(lambda: pods(2), "2 running pods")
    await admin.patch("jobs.batch", "batch", {"spec": {"suspend": True}}, ns,
                      patch_type=PatchType.MERGE)
    await wait_for(lambda: pods(0), "pods removed (tracking finalizer released)")

    async def condition(state: str) -> dict[str, Any] | None:
        st = (await admin.get("jobs.batch", "batch", ns)).get("status") or {}
        cond = {c["type"]: c for c in st.get("conditions") or []}.get("Suspended")
        return cond if cond and cond["status"] == state else None
    suspended = await wait_for(lambda: condition("True"), "Suspended=True")
    assert (suspended["reason"], suspended["message"]) == ("JobSuspended", "Job suspended")
    st = (await admin.get("jobs.batch", "batch", ns))["status"]
    assert not st.get("failed")  # pods removed on purpose are not failures
    await admin.patch("jobs.batch", "batch", {"spec": {"suspend": False}}, ns,
                      patch_type=PatchType.MERGE)
    resumed = await wait_for(lambda: condition("False"), "Suspended=False")
    assert resumed["reason"] == "JobResumed"
    await wait_for(lambda: pods(2), "2 pods again")
