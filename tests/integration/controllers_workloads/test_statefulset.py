"""StatefulSets: web-0, web-1, web-2 created in order — each only after the previous one is
Running and Ready (the test plays the kubelet and marks them, one by one) — with stable names,
hostnames and one PVC per claim template; Parallel creates all at once; scale-down removes
the highest ordinal first. Order is judged from resourceVersions (one global sequence)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from workloads_harness import (
    assert_quiet,
    create_namespace,
    mark_pod_ready,
    simulated_kubelet,
    wait_for,
)

from kubeadmpy.client import Client
from kubeadmpy.controllers.manager import Manager

pytestmark = pytest.mark.timeout(180)


def statefulset(policy: str = "OrderedReady", replicas: int = 3) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "serviceName": "web",
                     "podManagementPolicy": policy,
                     "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                         "containers": [{"name": "web", "image": "nginx",
                                         "volumeMounts": [{"name": "www",
                                                           "mountPath": "/usr/share/www"}]}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {
                         "accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}}}]}}


async def pod_names(client: Client, ns: str) -> list[str]:
    return sorted(p["metadata"]["name"] for p in (await client.list("pods", ns)).items
                  if not p["metadata"].get("deletionTimestamp"))


async def test_ordered_ready_creates_web_0_1_2_one_after_another(
        admin: Client, controller_manager: Manager) -> None:
    ns = "sts-ordered"
    await create_namespace(admin, ns)
    await admin.create("statefulsets", statefulset(), ns)
    ready_rv: dict[str, int] = {}
    for index in range(3):
        name = f"web-{index}"

        async def appeared(name: str = name) -> list[str] | None:
            names = await pod_names(admin, ns)
            return names if name in names else None
        names = await wait_for(appeared, f"{name} created")
        assert names == [f"web-{i}" for i in range(index + 1)]
        await asyncio.sleep(0.5)  # the next ordinal must not come while this one is not Ready
        assert await pod_names(admin, ns) == names
        pod = await admin.get("pods", name, ns)
        if index:
            assert int(pod["metadata"]["resourceVersion"]) > ready_rv[f"web-{index - 1}"]
        assert pod["spec"]["hostname"] == name and pod["spec"]["subdomain"] == "web"
        assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == name
        assert pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == str(index)
        assert {"name": "www", "persistentVolumeClaim": {"claimName": f"www-web-{index}"}} \
            in pod["spec"]["volumes"]
        # acting as the kubelet: this pod started and passed its readiness probe
        await mark_pod_ready(admin, ns, name)
        ready_rv[name] = int((await admin.get("pods", name, ns))["metadata"]["resourceVersion"])
    claims = (await admin.list("persistentvolumeclaims", ns)).items
    assert sorted(c["metadata"]["name"] for c in claims) == ["www-web-0", "www-web-1",
                                                              "www-web-2"]
    assert all(c["metadata"]["labels"] == {"app": "web"} for c in claims)

    async def status() -> dict[str, Any] | None:
        st = (await admin.get("statefulsets", "web", ns)).get("status") or {}
        return st if st.get("readyReplicas") == 3 else None
    st = await wait_for(status, "3 ready replicas in status")
    assert st["replicas"] == 3 and st["currentRevision"] == st["updateRevision"]
    await assert_quiet(admin, ns, ("statefulsets", "pods", "persistentvolumeclaims"))

    # scale down: web-2 goes first; web-1 only after web-2 is gone
    await admin.scale("statefulsets", "web", 1, ns)

    async def scaled() -> list[str] | None:
        names = await pod_names(admin, ns)
        return names if names == ["web-0"] else None
    await wait_for(scaled, "scaled down to web-0")
    assert len((await admin.list("persistentvolumeclaims", ns)).items) == 3  # PVCs retained


async def test_parallel_creates_every_pod_at_once(admin: Client,
                                                  controller_manager: Manager) -> None:
    ns = "sts-parallel"
    await create_namespace(admin, ns)
    await admin.create("statefulsets", statefulset("Parallel"), ns)

    async def all_there() -> list[str] | None:
        names = await pod_names(admin, ns)
        return names if len(names) == 3 else None
    assert await wait_for(all_there, "3 pods without any Ready") == ["web-0", "web-1", "web-2"]


async def test_rolling_update_replaces_pods_from_the_highest_ordinal_down(
        cluster: Any, admin: Client, controller_manager: Manager) -> None:
    ns = "sts-rolling"
    await create_namespace(admin, ns)
    async with simulated_kubelet(admin, ns):
        await admin.create("statefulsets", statefulset(), ns)

        async def all_ready() -> dict[str, Any] | None:
            st = (await admin.get("statefulsets", "web", ns)).get("status") or {}
            return st if st.get("readyReplicas") == 3 and \
                st.get("updatedReplicas") == 3 else None
        before = await wait_for(all_ready, "3 ready pods")
        rv = (await admin.list("pods", ns)).resource_version
        added: list[tuple[int, str]] = []

        async def record() -> None:
            async with admin.watch("pods", ns, resource_version=rv) as stream:
                async for event in stream:
                    if event.type == "ADDED":
                        added.append((int(event.object["metadata"]["resourceVersion"]),
                                      event.object["metadata"]["name"]))
        watcher = asyncio.create_task(record())
        try:
            await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "set", "image",
                                    "statefulset/web", "web=nginx:2")
            out = await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "rollout",
                                          "status", "statefulset/web", "--timeout=90s",
                                          timeout=120)
            assert "partitioned roll out complete" in out.stdout or \
                "rolling update complete" in out.stdout
            after = await wait_for(all_ready, "3 ready pods of the new revision")
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    assert [name for _, name in sorted(added)] == ["web-2", "web-1", "web-0"]
    assert after["updateRevision"] != before["updateRevision"]
    assert after["currentRevision"] == after["updateRevision"]
    pods = (await admin.list("pods", ns)).items
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"nginx:2"}


async def test_claim_retention_policy_delete_removes_claims_on_scale_down_and_deletion(
        admin: Client, controller_manager: Manager) -> None:
    ns = "sts-retention"
    await create_namespace(admin, ns)
    body = statefulset("Parallel")
    body["spec"]["persistentVolumeClaimRetentionPolicy"] = {"whenScaled": "Delete",
                                                            "whenDeleted": "Delete"}
    await admin.create("statefulsets", body, ns)

    async def claims(expected: list[str]) -> bool:
        names = sorted(c["metadata"]["name"] for c in
                       (await admin.list("persistentvolumeclaims", ns)).items
                       if not c["metadata"].get("deletionTimestamp"))
        return names == expected
    await wait_for(lambda: claims(["www-web-0", "www-web-1", "www-web-2"]), "3 claims")
    await admin.scale("statefulsets", "web", 1, ns)
    await wait_for(lambda: claims(["www-web-0"]), "claims of web-1 and web-2 collected")
    await admin.delete("statefulsets", "web", ns)
    await wait_for(lambda: claims([]), "the last claim collected with the set")
