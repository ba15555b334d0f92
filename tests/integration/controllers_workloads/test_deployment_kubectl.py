"""`kubectl create deployment`, `scale`, `set image`, `rollout status`, `rollout undo` and
`delete` in each cascade mode, driven by the real kubectl 1.33 and 1.27 against our apiserver and
controller-manager; after every step the object graph (Deployment → ReplicaSets → Pods, owner
references, revisions, pod-template-hash) is the one upstream produces."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from apiserver_harness import Cluster
from workloads_harness import assert_quiet, create_namespace, simulated_kubelet, wait_for

from kubeadmpy.client import Client
from kubeadmpy.controllers.manager import Manager

pytestmark = pytest.mark.timeout(300)
REVISION = "deployment.kubernetes.io/revision"


async def kubectl(cluster: Cluster, version: str, *args: str) -> str:
    result = await asyncio.to_thread(cluster.kubectl, version, *args, timeout=120)
    return result.stdout


async def graph(client: Client, namespace: str) -> dict[str, Any]:
    """Deployment(s), ReplicaSets and active Pods of the namespace, as a test reads them."""
    deployments = (await client.list("deployments", namespace)).items
    replicasets = (await client.list("replicasets", namespace)).items
    pods = [p for p in (await client.list("pods", namespace)).items
            if not p["metadata"].get("deletionTimestamp")]
    return {"deployments": {d["metadata"]["name"]: d for d in deployments},
            "replicasets": {r["metadata"]["name"]: r for r in replicasets}, "pods": pods}


def owner(obj: dict[str, Any]) -> dict[str, Any]:
    refs = obj["metadata"].get("ownerReferences") or []
    assert len(refs) == 1, refs
    return dict(refs[0])


def check_owned(child: dict[str, Any], parent: dict[str, Any]) -> None:
    ref = owner(child)
    assert ref == {"apiVersion": parent["apiVersion"], "kind": parent["kind"],
                   "name": parent["metadata"]["name"], "uid": parent["metadata"]["uid"],
                   "controller": True, "blockOwnerDeletion": True}


async def settled(client: Client, namespace: str, name: str, replicas: int,
                  image: str) -> dict[str, Any]:
    """Wait until the rollout is complete with `replicas` pods of `image`; the graph."""
    async def check() -> dict[str, Any] | None:
        g = await graph(client, namespace)
        d = g["deployments"].get(name)
        if d is None:
            return None
        st = d.get("status") or {}
        pods = [p for p in g["pods"] if p["spec"]["containers"][0]["image"] == image]
        if (st.get("observedGeneration") == d["metadata"]["generation"]
                and st.get("updatedReplicas") == replicas and st.get("replicas") == replicas
                and st.get("availableReplicas") == replicas and len(g["pods"]) == replicas
                and len(pods) == replicas):
            return g
        return None
    result: dict[str, Any] = await wait_for(check, f"{name}: {replicas} pods of {image}", 90)
    return result


def active_replicaset(g: dict[str, Any], name: str) -> dict[str, Any]:
    d = g["deployments"][name]
    active = [r for r in g["replicasets"].values() if r["spec"]["replicas"] > 0]
    assert len(active) == 1, [r["metadata"]["name"] for r in active]
    rs = active[0]
    check_owned(rs, d)
    digest = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"{name}-{digest}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": name, "pod-template-hash": digest}
    assert rs["metadata"]["annotations"][REVISION] == d["metadata"]["annotations"][REVISION]
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == \
        str(d["spec"]["replicas"])
    for pod in g["pods"]:
        check_owned(pod, rs)
        assert pod["metadata"]["labels"] == {"app": name, "pod-template-hash": digest}
        assert pod["metadata"]["name"].startswith(f"{name}-{digest}-")
    return rs


@pytest.mark.parametrize("version", ["1.33", "1.27"])
async def test_kubectl_deployment_lifecycle_matches_upstream_object_graph(
        cluster: Cluster, admin: Client, controller_manager: Manager, version: str) -> None:
    ns = f"deploy-{version.replace('.', '-')}"
    await create_namespace(admin, ns)
    async with simulated_kubelet(admin, ns):
        await kubectl(cluster, version, "-n", ns, "create", "deployment", "web", "--image=x",
                      "--replicas=5")
        g = await settled(admin, ns, "web", 5, "x")
        first = active_replicaset(g, "web")
        assert first["metadata"]["annotations"][REVISION] == "1"
        out = await kubectl(cluster, version, "-n", ns, "rollout", "status", "deployment/web",
                            "--timeout=60s")
        assert 'deployment "web" successfully rolled out' in out
        conditions = {c["type"]: c for c in g["deployments"]["web"]["status"]["conditions"]}
        assert conditions["Available"]["reason"] == "MinimumReplicasAvailable"
        assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
        assert conditions["Progressing"]["message"] == \
            f'ReplicaSet "{first["metadata"]["name"]}" has successfully progressed.'
        rs_name = first["metadata"]["name"]

        async def events_written() -> list[dict[str, Any]] | None:
            events = (await admin.list("events", ns)).items
            created = [e for e in events if e["reason"] == "SuccessfulCreate"
                       and e["involvedObject"]["name"] == rs_name]
            return events if len(created) == 5 else None
        events = await wait_for(events_written, "the controllers' events")
        scaled = [e for e in events if e["reason"] == "ScalingReplicaSet"]
        assert [(e["message"], e["source"]["component"], e["involvedObject"]["kind"])
                for e in scaled] == [(f"Scaled up replica set {rs_name} to 5 from 0",
                                      "deployment-controller", "Deployment")]
        described = await kubectl(cluster, version, "-n", ns, "describe", "deployment", "web")
        assert f"Scaled up replica set {rs_name} to 5 from 0" in described

        await kubectl(cluster, version, "-n", ns, "scale", "deployment", "web", "--replicas=3")
        g = await settled(admin, ns, "web", 3, "x")
        assert active_replicaset(g, "web")["metadata"]["name"] == first["metadata"]["name"]
        assert len(g["replicasets"]) == 1

        await kubectl(cluster, version, "-n", ns, "set", "image", "deployment/web", "x=y")
        out = await kubectl(cluster, version, "-n", ns, "rollout", "status", "deployment/web",
                            "--timeout=90s")
        assert 'deployment "web" successfully rolled out' in out
        g = await settled(admin, ns, "web", 3, "y")
        second = active_replicaset(g, "web")
        assert second["metadata"]["name"] != first["metadata"]["name"]
        assert second["metadata"]["annotations"][REVISION] == "2"
        assert g["replicasets"][first["metadata"]["name"]]["spec"]["replicas"] == 0
        assert g["deployments"]["web"]["metadata"]["annotations"][REVISION] == "2"

        await kubectl(cluster, version, "-n", ns, "rollout", "undo", "deployment/web")
        await kubectl(cluster, version, "-n", ns, "rollout", "status", "deployment/web",
                      "--timeout=90s")
        g = await settled(admin, ns, "web", 3, "x")
        back = active_replicaset(g, "web")
        assert back["metadata"]["name"] == first["metadata"]["name"]  # the old RS re-used
        assert back["metadata"]["annotations"][REVISION] == "3"
        assert back["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] \
            == "1"
        history = await kubectl(cluster, version, "-n", ns, "rollout", "history",
                                "deployment/web")
        assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] \
            == ["2", "3"]

        await assert_quiet(admin, ns, ("deployments", "replicasets", "pods"))

        # orphan: the Deployment goes, its ReplicaSets stay without an owner, pods untouched
        pods_before = {p["metadata"]["uid"] for p in g["pods"]}
        await kubectl(cluster, version, "-n", ns, "delete", "deployment", "web",
                      "--cascade=orphan")

        async def orphaned() -> dict[str, Any] | None:
            now = await graph(admin, ns)
            if now["deployments"] or any(r["metadata"].get("ownerReferences")
                                         for r in now["replicasets"].values()):
                return None
            return now
        g = await wait_for(orphaned, "ReplicaSets orphaned")
        assert len(g["replicasets"]) == 2
        await asyncio.sleep(1)  # nothing may be deleted or recreated afterwards
        g = await graph(admin, ns)
        assert {p["metadata"]["uid"] for p in g["pods"]} == pods_before
        for rs in list(g["replicasets"]):
            await kubectl(cluster, version, "-n", ns, "delete", "rs", rs)
