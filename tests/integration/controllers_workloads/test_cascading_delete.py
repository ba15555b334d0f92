"""`kubectl delete deployment --cascade=background|foreground|orphan`: what the garbage
collector does, judged from the order of the deletions in etcd (the resourceVersion of each
DELETED watch event, one global sequence) — not from timing."""

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


async def record_deletions(client: Client, ref: str, namespace: str, rv: str,
                           into: list[tuple[int, str, str]]) -> None:
    async with client.watch(ref, namespace, resource_version=rv) as events:
        async for event in events:
            if event.type == "DELETED":
                obj = event.object
                into.append((int(obj["metadata"]["resourceVersion"]), obj["kind"],
                             obj["metadata"]["name"]))


async def deployment_with_pods(cluster: Cluster, client: Client, ns: str, name: str) -> None:
    await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "create", "deployment", name,
                            "--image=x", "--replicas=3")

    async def ready() -> bool:
        d = await client.get("deployments", name, ns)
        return (d.get("status") or {}).get("availableReplicas") == 3
    await wait_for(ready, f"{name} available")


@pytest.mark.parametrize("version", ["1.33", "1.27"])
@pytest.mark.parametrize("mode", ["background", "foreground"])
async def test_cascading_delete_removes_owner_and_dependents_in_upstream_order(
        cluster: Cluster, admin: Client, controller_manager: Manager, mode: str,
        version: str) -> None:
    ns = f"cascade-{mode}-{version.replace('.', '-')}"
    await create_namespace(admin, ns)
    deletions: list[tuple[int, str, str]] = []
    async with simulated_kubelet(admin, ns):
        await deployment_with_pods(cluster, admin, ns, "web")
        rv = (await admin.list("pods", ns)).resource_version
        watchers = [asyncio.create_task(record_deletions(admin, ref, ns, rv, deletions))
                    for ref in ("deployments", "replicasets", "pods")]
        try:
            await asyncio.to_thread(cluster.kubectl, version, "-n", ns, "delete", "deployment",
                                    "web", f"--cascade={mode}", "--timeout=60s")

            async def everything_gone() -> bool:
                listed = [await admin.list(r, ns) for r in ("deployments", "replicasets", "pods")]
                return not any(page.items for page in listed) and len(deletions) == 5
            await wait_for(everything_gone, "the Deployment, its ReplicaSet and pods deleted")
        finally:
            for task in watchers:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    order = [kind for _, kind, _ in sorted(deletions)]
    if mode == "background":  # the owner first, then the collector removes the rest
        assert order[0] == "Deployment" and order[1:].count("Pod") == 3
        assert order.index("ReplicaSet") < max(i for i, k in enumerate(order) if k == "Pod")
    else:  # foreground: every dependent before its owner
        assert order == ["Pod", "Pod", "Pod", "ReplicaSet", "Deployment"]


async def test_foreground_delete_shows_the_owner_waiting_for_its_dependents(
        cluster: Cluster, admin: Client, controller_manager: Manager) -> None:
    """While pods block it (a finalizer of our own keeps one pod), the Deployment and the
    ReplicaSet stay with deletionTimestamp and the foregroundDeletion finalizer."""
    ns = "cascade-foreground-waiting"
    await create_namespace(admin, ns)
    async with simulated_kubelet(admin, ns):
        await deployment_with_pods(cluster, admin, ns, "web")
        pod = (await admin.list("pods", ns)).items[0]
        await admin.patch("pods", pod["metadata"]["name"],
                          {"metadata": {"finalizers": ["example.com/hold"]}}, ns,
                          patch_type=PatchType.MERGE)
        await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "delete", "deployment",
                                "web", "--cascade=foreground", "--wait=false")

        async def waiting() -> dict[str, Any] | None:
            d = await admin.get("deployments", "web", ns)
            rs = (await admin.list("replicasets", ns)).items
            pods = (await admin.list("pods", ns)).items
            if len(pods) == 1 and rs and d["metadata"].get("deletionTimestamp"):
                return {"deployment": d, "replicaset": rs[0], "pod": pods[0]}
            return None
        held = await wait_for(waiting, "only the held pod left, owners waiting")
        for owner in ("deployment", "replicaset"):
            assert held[owner]["metadata"]["finalizers"] == ["foregroundDeletion"]
            assert held[owner]["metadata"]["deletionTimestamp"]
        await admin.patch("pods", pod["metadata"]["name"], {"metadata": {"finalizers": None}},
                          ns, patch_type=PatchType.MERGE)

        async def gone() -> bool:
            return not (await admin.list("deployments", ns)).items and \
                not (await admin.list("replicasets", ns)).items
        await wait_for(gone, "the owners deleted once the last pod went")


async def test_dependents_of_any_discovered_kind_are_collected(
        admin: Client, controller_manager: Manager) -> None:
    """A Role owned by a ConfigMap (neither is a workload): deleting the owner removes it —
    the collector watches every listable kind discovery offers, as upstream's does."""
    ns = "cascade-any-kind"
    await create_namespace(admin, ns)
    owner = await admin.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"name": "owner"}}, ns)
    await admin.create("roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "dependent", "ownerReferences": [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
            "uid": owner["metadata"]["uid"]}]},
        "rules": []}, ns)
    await admin.delete("configmaps", "owner", ns)

    async def collected() -> bool:
        return not (await admin.list("roles", ns)).items
    await wait_for(collected, "the Role collected after its owner went")
