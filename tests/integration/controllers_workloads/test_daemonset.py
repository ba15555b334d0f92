"""DaemonSets on simulated nodes (Node objects, no kubelet): one pod per eligible node, pinned
by the controller's node affinity and bound by the real kubeadmpy-scheduler; a tainted node gets
none unless the DaemonSet tolerates the taint; a rolling update replaces every pod."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from apiserver_harness import Cluster
from workloads_harness import (
    assert_quiet,
    create_namespace,
    register_simulated_nodes,
    running_scheduler,
    simulated_kubelet,
    simulated_node,
    simulated_nodes,
    wait_for,
)

from kubeadmpy.client import Client
from kubeadmpy.controllers.manager import Manager

pytestmark = pytest.mark.timeout(240)
TAINT = {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}
PLAIN_NODES = ["ds-node-0", "ds-node-1", "ds-node-2"]


def daemonset(name: str, *, tolerations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "agent", "image": "agent:1"}]}
    if tolerations:
        spec["tolerations"] = tolerations
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


@pytest.fixture
async def nodes(admin: Client) -> AsyncIterator[None]:
    await register_simulated_nodes(admin, [
        *simulated_nodes(3, prefix="ds-node"),
        simulated_node("ds-node-tainted", taints=[TAINT])])
    yield


def placement(pods: list[dict[str, Any]]) -> dict[str, str]:
    """node named by the controller's affinity → node the scheduler bound the pod to."""
    result = {}
    for pod in pods:
        term = pod["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert term == [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                          "values": [term[0]["matchFields"][0]["values"][0]]}]}]
        result[term[0]["matchFields"][0]["values"][0]] = pod["spec"].get("nodeName", "")
    return result


async def pods_of(client: Client, ns: str, app: str) -> list[dict[str, Any]]:
    return [p for p in (await client.list("pods", ns, label_selector=f"app={app}")).items
            if not p["metadata"].get("deletionTimestamp")]


async def test_daemonset_runs_one_pod_per_node_and_skips_the_untolerated_taint(
        cluster: Cluster, admin: Client, controller_manager: Manager, nodes: None) -> None:
    ns = "ds-placement"
    await create_namespace(admin, ns)
    async with running_scheduler(cluster.kubeconfig), simulated_kubelet(admin, ns):
        await admin.create("daemonsets", daemonset("agent"), ns)
        await admin.create("daemonsets", daemonset("infra-agent", tolerations=[
            {"key": "dedicated", "operator": "Equal", "value": "infra",
             "effect": "NoSchedule"}]), ns)

        async def placed(app: str, count: int) -> dict[str, str] | None:
            pods = await pods_of(admin, ns, app)
            where = placement(pods)
            if len(pods) == count and all(where.values()):
                return where
            return None
        agent = await wait_for(lambda: placed("agent", 3), "agent on the 3 plain nodes")
        assert agent == {n: n for n in PLAIN_NODES}
        infra = await wait_for(lambda: placed("infra-agent", 4), "infra-agent on all 4 nodes")
        assert infra == {n: n for n in [*PLAIN_NODES, "ds-node-tainted"]}
        await asyncio.sleep(1)  # steady: no extra pods appear
        assert len(await pods_of(admin, ns, "agent")) == 3

        async def status() -> dict[str, Any] | None:
            st = (await admin.get("daemonsets", "agent", ns)).get("status") or {}
            return st if st.get("numberAvailable") == 3 else None
        st = await wait_for(status, "agent status")
        assert {k: st[k] for k in ("desiredNumberScheduled", "currentNumberScheduled",
                                   "numberMisscheduled", "numberReady",
                                   "updatedNumberScheduled", "numberAvailable")} == {
            "desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberMisscheduled": 0,
            "numberReady": 3, "updatedNumberScheduled": 3, "numberAvailable": 3}
        await assert_quiet(admin, ns, ("daemonsets", "pods", "controllerrevisions"))
        pod = (await pods_of(admin, ns, "agent"))[0]
        assert {"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                "effect": "NoSchedule"} in pod["spec"]["tolerations"]
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
        assert pod["metadata"]["labels"]["pod-template-generation"] == "1"

        # a taint the DaemonSet does not tolerate arriving later: NoSchedule keeps the pod
        await admin.patch("nodes", "ds-node-0", {"spec": {"taints": [TAINT]}})
        await asyncio.sleep(1)
        assert len(await pods_of(admin, ns, "agent")) == 3
        await admin.patch("nodes", "ds-node-0", {"spec": {"taints": None}})


async def test_daemonset_rolling_update_replaces_every_pod_with_kubectl(
        cluster: Cluster, admin: Client, controller_manager: Manager, nodes: None) -> None:
    ns = "ds-rolling"
    await create_namespace(admin, ns)
    async with running_scheduler(cluster.kubeconfig), simulated_kubelet(admin, ns):
        await admin.create("daemonsets", daemonset("agent"), ns)

        async def all_on(image: str) -> list[dict[str, Any]] | None:
            pods = await pods_of(admin, ns, "agent")
            if len(pods) == 3 and all(p["spec"]["containers"][0]["image"] == image and
                                      p["status"].get("phase") == "Running" for p in pods):
                return pods
            return None
        before = await wait_for(lambda: all_on("agent:1"), "3 agent:1 pods")
        await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "set", "image",
                                "daemonset/agent", "agent=agent:2")
        out = await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "rollout", "status",
                                      "daemonset/agent", "--timeout=90s", timeout=120)
        assert 'daemon set "agent" successfully rolled out' in out.stdout
        after = await wait_for(lambda: all_on("agent:2"), "3 agent:2 pods")
        hashes = {p["metadata"]["labels"]["controller-revision-hash"] for p in after}
        assert len(hashes) == 1
        assert hashes.isdisjoint(p["metadata"]["labels"]["controller-revision-hash"]
                                 for p in before)
        revisions = (await admin.list("controllerrevisions", ns)).items
        assert sorted(r["revision"] for r in revisions) == [1, 2]
        # kubectl rollout undo reads the ControllerRevisions and patches the old template back
        await asyncio.to_thread(cluster.kubectl, "1.33", "-n", ns, "rollout", "undo",
                                "daemonset/agent")
        back = await wait_for(lambda: all_on("agent:1"), "3 agent:1 pods after undo")
        assert {p["metadata"]["labels"]["controller-revision-hash"] for p in back} == \
            {p["metadata"]["labels"]["controller-revision-hash"] for p in before}

        async def renumbered() -> list[int] | None:
            numbers = sorted(r["revision"] for r in
                             (await admin.list("controllerrevisions", ns)).items)
            return numbers if numbers == [2, 3] else None
        await wait_for(renumbered, "the restored template as revision 3")
        with contextlib.suppress(Exception):
            await admin.delete("daemonsets", "agent", ns)
