"""Deleting a namespace with the real kubectl: it turns Terminating, everything in it is
deleted (workloads through the garbage collector, plain objects directly), an object held by a
finalizer keeps the namespace with upstream's conditions, and once it goes the `kubernetes`
finalizer is released and the namespace disappears."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from apiserver_harness import Cluster
from workloads_harness import create_namespace, simulated_kubelet, wait_for

from kubeadmpy.client import Client, PatchType, errors
from kubeadmpy.controllers.manager import Manager

pytestmark = pytest.mark.timeout(180)


async def test_namespace_deletion_empties_it_then_releases_the_finalizer(
        cluster: Cluster, admin: Client, controller_manager: Manager) -> None:
    ns = "doomed"
    await create_namespace(admin, ns)
    async with simulated_kubelet(admin, ns):
        await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "create", "deployment",
                                "web", "--image=x", "--replicas=2")
        await admin.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": "plain"}, "data": {"a": "b"}}, ns)
        await admin.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "held", "finalizers": ["example.com/hold"]}}, ns)

        async def pods_up() -> bool:
            return len((await admin.list("pods", ns)).items) == 2
        await wait_for(pods_up, "2 pods")
        await asyncio.to_thread(cluster.kubectl, "1.33", "delete", "namespace", ns,
                                "--wait=false")

        async def waiting_on_finalizer() -> dict[str, Any] | None:
            obj = await admin.get("namespaces", ns)
            conditions = {c["type"]: c for c in obj["status"].get("conditions") or []}
            held = conditions.get("NamespaceFinalizersRemaining")
            if held and held["status"] == "True" and not (await admin.list("pods", ns)).items:
                return obj
            return None
        obj = await wait_for(waiting_on_finalizer, "only the held ConfigMap left")
        assert obj["status"]["phase"] == "Terminating"
        assert obj["spec"]["finalizers"] == ["kubernetes"]
        conditions = {c["type"]: c for c in obj["status"]["conditions"]}
        assert conditions["NamespaceFinalizersRemaining"]["message"] == \
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 " \
            "resource instances"
        assert conditions["NamespaceContentRemaining"]["message"] == \
            "Some resources are remaining: configmaps has 1 resource instances"
        assert conditions["NamespaceDeletionDiscoveryFailure"]["status"] == "False"
        assert [c["metadata"]["name"] for c in (await admin.list("configmaps", ns)).items] \
            == ["held"]
        for ref in ("deployments", "replicasets", "pods"):
            assert not (await admin.list(ref, ns)).items

        await admin.patch("configmaps", "held", {"metadata": {"finalizers": None}}, ns,
                          patch_type=PatchType.MERGE)

        async def gone() -> bool:
            try:
                await admin.get("namespaces", ns)
            except errors.NotFound:
                return True
            return False
        await wait_for(gone, "the namespace removed")
