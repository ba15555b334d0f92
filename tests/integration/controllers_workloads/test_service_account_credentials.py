"""--use-service-account-credentials: every controller writes with its own kube-system service
account (token from the TokenRequest API, renewed by the manager), authorized by the
`system:controller:<name>` RBAC roles — the Deployment → ReplicaSet → Pod chain still works."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import pytest
from apiserver_harness import Cluster
from workloads_harness import create_namespace, manager_settings, simulated_kubelet, wait_for

from kubeadmpy.client import Client, RunningComponent
from kubeadmpy.controllers.manager import Manager, run

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def sa_manager(cluster: Cluster) -> AsyncIterator[Manager]:
    settings = dataclasses.replace(manager_settings(cluster.kubeconfig),
                                   use_service_account_credentials=True)
    managers: list[Manager] = []
    task = asyncio.create_task(run(settings, RunningComponent(), managers))
    try:
        async def started() -> bool:
            if task.done():
                task.result()
            return bool(managers) and managers[-1].started.is_set()
        await wait_for(started, "the controller-manager with per-controller credentials")
        yield managers[-1]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def who_is(admin: Client, token: str) -> str:
    review = await admin.create("tokenreviews.authentication.k8s.io", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
        "spec": {"token": token}})
    return str(review["status"]["user"]["username"])


async def test_each_controller_runs_as_its_own_service_account(
        cluster: Cluster, admin: Client, sa_manager: Manager) -> None:
    accounts = {a["metadata"]["name"] for a in
                (await admin.list("serviceaccounts", "kube-system")).items}
    assert {"deployment-controller", "replicaset-controller", "generic-garbage-collector",
            "daemon-set-controller", "statefulset-controller", "job-controller",
            "cronjob-controller", "namespace-controller"} <= accounts
    deployment = sa_manager.runnables["deployment-controller"]
    client: Client = deployment.client  # type: ignore[attr-defined]
    assert await who_is(admin, client.config.bearer_token()) == \
        "system:serviceaccount:kube-system:deployment-controller"
    assert client.config.user_agent.endswith(
        "/system:serviceaccount:kube-system:deployment-controller")

    ns = "sa-credentials"
    await create_namespace(admin, ns)
    async with simulated_kubelet(admin, ns):
        await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "create", "deployment",
                                "web", "--image=x", "--replicas=2")
        out = await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "rollout", "status",
                                      "deployment/web", "--timeout=60s", timeout=90)
        assert 'deployment "web" successfully rolled out' in out.stdout
        await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "set", "image",
                                "deployment/web", "x=y")
        out = await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "rollout", "status",
                                      "deployment/web", "--timeout=60s", timeout=90)
        assert 'deployment "web" successfully rolled out' in out.stdout
        await admin.create("statefulsets", {
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": {"replicas": 2, "serviceName": "db", "podManagementPolicy": "Parallel",
                     "selector": {"matchLabels": {"app": "db"}},
                     "template": {"metadata": {"labels": {"app": "db"}},
                                  "spec": {"containers": [{"name": "db", "image": "db"}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}}}]}}, ns)

        async def stateful_up() -> bool:
            st = (await admin.get("statefulsets", "db", ns)).get("status") or {}
            return st.get("readyReplicas") == 2 and \
                len((await admin.list("persistentvolumeclaims", ns)).items) == 2
        await wait_for(stateful_up, "db-0 and db-1 with their claims")
        await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "delete", "deployment",
                                "web")

        async def collected() -> bool:
            pods = (await admin.list("pods", ns, label_selector="app=web")).items
            return not pods
        await wait_for(collected, "pods collected by generic-garbage-collector")
    await asyncio.to_thread(cluster.kubectl, "1.33", "delete", "namespace", ns, "--timeout=60s",
                            timeout=90)  # emptied and finalized by namespace-controller
