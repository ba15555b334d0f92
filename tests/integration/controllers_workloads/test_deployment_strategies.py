"""Deployment behaviours beyond the kubectl lifecycle: Recreate stops every old pod before a
new one starts; a rollout whose pods never become Ready ends in ProgressDeadlineExceeded, which
`kubectl rollout status` reports as upstream does; maxUnavailable=0/maxSurge=1 never drops
below the desired number of available pods."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from apiserver_harness import Cluster
from workloads_harness import create_namespace, simulated_kubelet, wait_for

from kubeadmpy.client import Client, PatchType
from kubeadmpy.controllers.manager import Manager

pytestmark = pytest.mark.timeout(180)


def deployment(name: str, replicas: int, image: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, **spec,
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


async def pods_by_image(client: Client, ns: str, app: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pod in (await client.list("pods", ns, label_selector=f"app={app}")).items:
        if not pod["metadata"].get("deletionTimestamp"):
            image = pod["spec"]["containers"][0]["image"]
            counts[image] = counts.get(image, 0) + 1
    return counts


async def sample(client: Client, ns: str, app: str, into: list[dict[str, int]],
                 stop: asyncio.Event) -> None:
    while not stop.is_set():
        into.append(await pods_by_image(client, ns, app))
        await asyncio.sleep(0.05)


async def record(client: Client, ns: str, rv: str, into: list[tuple[str, str, int]]) -> None:
    async with client.watch("pods", ns, resource_version=rv) as stream:
        async for event in stream:
            if event.type in ("ADDED", "DELETED"):
                into.append((event.type, event.object["spec"]["containers"][0]["image"],
                             int(event.object["metadata"]["resourceVersion"])))


@pytest.mark.parametrize(("strategy", "check"), [
    ({"type": "Recreate"}, "never-mixed"),
    ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
     "never-below-desired")])
async def test_rollout_strategies_keep_their_promise(
        admin: Client, controller_manager: Manager, strategy: dict[str, Any],
        check: str) -> None:
    ns = f"strategy-{check}"
    await create_namespace(admin, ns)
    async with simulated_kubelet(admin, ns):
        await admin.create("deployments", deployment("app", 3, "v1", strategy=strategy), ns)

        async def only(image: str) -> bool:
            d = await admin.get("deployments", "app", ns)
            return await pods_by_image(admin, ns, "app") == {image: 3} and \
                (d.get("status") or {}).get("updatedReplicas") == 3 and \
                (d.get("status") or {}).get("availableReplicas") == 3
        await wait_for(lambda: only("v1"), "3 v1 pods")
        seen: list[dict[str, int]] = []
        events: list[tuple[str, str, int]] = []
        stop = asyncio.Event()
        rv = (await admin.list("pods", ns)).resource_version
        sampler = asyncio.create_task(sample(admin, ns, "app", seen, stop))
        watcher = asyncio.create_task(record(admin, ns, rv, events))
        try:
            await admin.patch("deployments", "app", {"spec": {"template": {"spec": {
                "containers": [{"name": "c", "image": "v2"}]}}}}, ns)
            await wait_for(lambda: only("v2"), "3 v2 pods")
        finally:
            stop.set()
            watcher.cancel()
            for task in (sampler, watcher):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    if check == "never-mixed":
        assert not any(s.get("v1") and s.get("v2") for s in seen)
        # from etcd's single sequence: the last v1 pod went before the first v2 pod came
        assert max(rv for event, image, rv in events if event == "DELETED" and image == "v1") \
            < min(rv for event, image, rv in events if event == "ADDED" and image == "v2")
    else:
        assert all(sum(s.values()) >= 3 for s in seen)  # pods (all Ready here) never < 3
        assert all(sum(s.values()) <= 4 for s in seen)  # surge of one


async def test_progress_deadline_exceeded_is_reported_by_kubectl(
        cluster: Cluster, admin: Client, controller_manager: Manager) -> None:
    ns = "deadline"
    await create_namespace(admin, ns)
    # no simulated kubelet here: the pods never become Ready
    await admin.create("deployments", deployment("stuck", 1, "never", progressDeadlineSeconds=2),
                       ns)

    async def exceeded() -> dict[str, Any] | None:
        st = (await admin.get("deployments", "stuck", ns)).get("status") or {}
        cond = {c["type"]: c for c in st.get("conditions") or []}
        progressing = cond.get("Progressing")
        return cond if progressing and progressing["status"] == "False" else None
    cond = await wait_for(exceeded, "ProgressDeadlineExceeded", 60)
    assert cond["Progressing"]["reason"] == "ProgressDeadlineExceeded"
    assert cond["Progressing"]["message"].endswith("has timed out progressing.")
    assert cond["Available"]["reason"] == "MinimumReplicasUnavailable"
    result = await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "rollout", "status",
                                     "deployment/stuck", "--timeout=20s", check=False)
    assert result.returncode != 0
    assert 'deployment "stuck" exceeded its progress deadline' in result.stderr
    await admin.patch("deployments", "stuck", {"spec": {"paused": True}}, ns,
                      patch_type=PatchType.MERGE)


async def test_scaling_during_a_stalled_rollout_is_proportional(
        cluster: Cluster, admin: Client, controller_manager: Manager) -> None:
    """Upstream's documented example: 10 replicas, maxSurge 3, maxUnavailable 2, a new image
    that never becomes Ready (old 8 / new 5), then `kubectl scale --replicas=15`: the 5 extra
    replicas go 3 to the old and 2 to the new ReplicaSet."""
    ns = "proportional"
    await create_namespace(admin, ns)

    def good(pod: dict[str, Any]) -> bool:
        return bool(pod["spec"]["containers"][0]["image"] == "good")
    async with simulated_kubelet(admin, ns, ready=good):
        await admin.create("deployments", deployment(
            "app", 10, "good", strategy={"type": "RollingUpdate", "rollingUpdate": {
                "maxSurge": 3, "maxUnavailable": 2}}), ns)

        async def sizes(expected: dict[str, int]) -> bool:
            found = {}
            for rs in (await admin.list("replicasets", ns)).items:
                image = rs["spec"]["template"]["spec"]["containers"][0]["image"]
                found[image] = rs["spec"]["replicas"]
            return found == expected
        await wait_for(lambda: sizes({"good": 10}), "10 good replicas")

        async def available() -> bool:
            d = await admin.get("deployments", "app", ns)
            return (d.get("status") or {}).get("availableReplicas") == 10
        await wait_for(available, "10 available")
        await admin.patch("deployments", "app", {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "bad"}]}}}}, ns)
        await wait_for(lambda: sizes({"good": 8, "bad": 5}), "the rollout stalled at 8 + 5")
        await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "scale", "deployment",
                                "app", "--replicas=15")
        await wait_for(lambda: sizes({"good": 11, "bad": 7}), "11 + 7 after scaling to 15")
        for rs in (await admin.list("replicasets", ns)).items:
            annotations = rs["metadata"]["annotations"]
            assert annotations["deployment.kubernetes.io/desired-replicas"] == "15"
            assert annotations["deployment.kubernetes.io/max-replicas"] == "18"


async def test_paused_rollout_waits_for_resume_with_upstream_conditions(
        cluster: Cluster, admin: Client, controller_manager: Manager) -> None:
    ns = "paused"
    await create_namespace(admin, ns)
    async with simulated_kubelet(admin, ns):
        await admin.create("deployments", deployment("app", 2, "v1"), ns)

        async def images() -> dict[str, int]:
            return await pods_by_image(admin, ns, "app")

        async def only(image: str) -> bool:
            d = await admin.get("deployments", "app", ns)
            return await images() == {image: 2} and \
                (d.get("status") or {}).get("availableReplicas") == 2 and \
                (d.get("status") or {}).get("updatedReplicas") == 2
        await wait_for(lambda: only("v1"), "2 v1 pods")
        await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "rollout", "pause",
                                "deployment/app")
        await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "set", "image",
                                "deployment/app", "c=v2")

        async def progressing(reason: str) -> dict[str, Any] | None:
            st = (await admin.get("deployments", "app", ns)).get("status") or {}
            cond = {c["type"]: c for c in st.get("conditions") or []}.get("Progressing")
            return cond if cond and cond["reason"] == reason else None
        paused = await wait_for(lambda: progressing("DeploymentPaused"), "DeploymentPaused")
        assert (paused["status"], paused["message"]) == ("Unknown", "Deployment is paused")
        await asyncio.sleep(1)
        assert await images() == {"v1": 2}  # nothing rolls while paused
        await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "rollout", "resume",
                                "deployment/app")
        await wait_for(lambda: only("v2"), "2 v2 pods after resume")
        await wait_for(lambda: progressing("NewReplicaSetAvailable"), "rollout complete")
