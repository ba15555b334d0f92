"""The kubelet with the probe manager (kubeadmpy.kubelet.probes) on a real containerd: readiness
gates the Ready condition, a failing liveness probe gets the container killed and restarted."""

from __future__ import annotations

from typing import Any

from kubelet_harness import (
    Node,
    busybox,
    containers_of,
    create_bound_pod,
    eventually,
    pod_manifest,
    running_kubelet,
)

from kubeadmpy.client import Client
from kubeadmpy.cri import CRIClient, api

JSONObject = dict[str, Any]


def exec_probe(command: str, **timing: int) -> JSONObject:
    return {"exec": {"command": ["sh", "-c", command]}, "periodSeconds": 1, **timing}


async def first_status(client: Client, namespace: str, name: str) -> JSONObject:
    pod = await client.get("pods", name, namespace)
    return dict(pod["status"]["containerStatuses"][0])


async def test_readiness_keeps_the_pod_unready_until_the_probe_passes(
        node: Node, client: Client, namespace: str) -> None:
    container = busybox("main", "sleep 3600", readinessProbe=exec_probe("test -e /tmp/ready"))
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace,
                                         pod_manifest("gated", [container]), node.name)

        async def running_unready() -> JSONObject | None:
            status = await first_status(client, namespace, "gated")
            return status if "running" in status["state"] and not status["ready"] else None
        await eventually(running_unready, "running but not ready")
        [running] = [c for c in await containers_of(node.runtime, created["metadata"]["uid"])
                     if c.state == api.CONTAINER_RUNNING]
        async with CRIClient(node.runtime.endpoint) as cri:
            await cri.exec_sync(running.id, ["touch", "/tmp/ready"], 10)

        async def ready() -> JSONObject | None:
            pod = await client.get("pods", "gated", namespace)
            conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
            return pod if conditions["Ready"] == "True" else None
        pod = await eventually(ready, "Ready")
    assert pod["status"]["containerStatuses"][0]["ready"] is True


async def test_a_failing_liveness_probe_restarts_the_container(
        node: Node, client: Client, namespace: str) -> None:
    container = busybox("main", "sleep 3600",
                        livenessProbe=exec_probe("test -e /tmp/alive", failureThreshold=1))
    async with running_kubelet(node):
        await create_bound_pod(client, namespace, pod_manifest("unhealthy", [container]),
                               node.name)

        async def restarted() -> JSONObject | None:
            status = await first_status(client, namespace, "unhealthy")
            return status if status["restartCount"] >= 1 else None
        status = await eventually(restarted, "restarted after liveness failure")
        events = (await client.list("events", namespace)).items
    reasons = {(e["reason"], e["involvedObject"]["name"]) for e in events}
    assert ("Unhealthy", "unhealthy") in reasons
    assert ("Killing", "unhealthy") in reasons
    assert status["lastState"]["terminated"]["exitCode"] in (137, 143)
