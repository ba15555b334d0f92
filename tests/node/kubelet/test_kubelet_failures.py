"""Failure handling of the kubelet on a real containerd: crash loops with growing back-off,
missing images, restart policies, graceful termination with preStop, and bad pod input."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from kubelet_harness import (
    TEST_BACKOFF,
    Node,
    busybox,
    containers_of,
    create_bound_pod,
    eventually,
    pod_manifest,
    running_kubelet,
)

from kubeadmpy.client import Client, errors
from kubeadmpy.cri import CRIClient, api

JSONObject = dict[str, Any]


async def container_status(client: Client, namespace: str, name: str) -> JSONObject | None:
    try:
        pod = await client.get("pods", name, namespace)
    except errors.NotFound:
        return None
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return statuses[0] if statuses else None


def closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_crashing_container_enters_crash_loop_back_off_with_a_growing_delay(
        node: Node, client: Client, namespace: str) -> None:
    pod = pod_manifest("crasher", [busybox("main", "echo dying; exit 3")])
    messages: list[str] = []
    async with running_kubelet(node):
        await create_bound_pod(client, namespace, pod, node.name)

        async def crash_looping_after(restarts: int) -> JSONObject | None:
            status = await container_status(client, namespace, "crasher")
            waiting = ((status or {}).get("state") or {}).get("waiting") or {}
            if waiting.get("reason") == "CrashLoopBackOff" and \
                    status is not None and status["restartCount"] >= restarts:
                if waiting["message"] not in messages:
                    messages.append(waiting["message"])
                return status
            return None
        first = await eventually(lambda: crash_looping_after(1), "CrashLoopBackOff")
        later = await eventually(lambda: crash_looping_after(3), "more restarts", 90)
        found = await client.get("pods", "crasher", namespace)
    assert first["lastState"]["terminated"]["exitCode"] == 3
    assert first["lastState"]["terminated"]["reason"] == "Error"
    assert later["restartCount"] >= 3
    assert found["status"]["phase"] == "Running"
    assert found["status"]["conditions"][2] == {
        **found["status"]["conditions"][2], "type": "Ready", "status": "False"}
    delays = [int(m.split("back-off ", 1)[1].split("s ", 1)[0]) for m in messages]
    # 1 s doubling (the test's short base): each message shows a longer delay, capped.
    assert delays == sorted(delays) and len(set(delays)) >= 2, messages
    assert max(delays) <= TEST_BACKOFF.max_seconds
    uid = found["metadata"]["uid"]
    assert all(f"restarting failed container=main pod=crasher_{namespace}({uid})" in m
               for m in messages)


async def test_a_missing_image_reports_err_image_pull_then_image_pull_back_off(
        node: Node, client: Client, namespace: str) -> None:
    # A registry address on loopback where nothing listens: the pull fails without leaving
    # the machine.
    image = f"127.0.0.1:{closed_loopback_port()}/missing/image:1.0"
    pod = pod_manifest("nopull", [{"name": "main", "image": image}])
    reasons: set[str] = set()
    async with running_kubelet(node):
        await create_bound_pod(client, namespace, pod, node.name)

        async def saw(reason: str) -> JSONObject | None:
            status = await container_status(client, namespace, "nopull")
            waiting = ((status or {}).get("state") or {}).get("waiting") or {}
            if waiting.get("reason"):
                reasons.add(waiting["reason"])
            return waiting if waiting.get("reason") == reason else None
        pulled = await eventually(lambda: saw("ErrImagePull"), "ErrImagePull")
        backing_off = await eventually(lambda: saw("ImagePullBackOff"), "ImagePullBackOff")
        found = await client.get("pods", "nopull", namespace)
    assert pulled["message"].startswith("rpc error: code = ")
    assert f'failed to pull and unpack image "{image}"' in pulled["message"]
    assert backing_off["message"] == f'Back-off pulling image "{image}"'
    assert found["status"]["phase"] == "Pending"
    assert {"ErrImagePull", "ImagePullBackOff"} <= reasons


async def test_pull_policy_never_with_a_missing_image_is_err_image_never_pull(
        node: Node, client: Client, namespace: str) -> None:
    pod = pod_manifest("never", [{"name": "main", "image": "kubeadmpy.local/absent:1",
                                  "imagePullPolicy": "Never"}])
    async with running_kubelet(node):
        await create_bound_pod(client, namespace, pod, node.name)

        async def waiting() -> JSONObject | None:
            status = await container_status(client, namespace, "never")
            state = ((status or {}).get("state") or {}).get("waiting") or {}
            return state if state.get("reason") == "ErrImageNeverPull" else None
        state = await eventually(waiting, "ErrImageNeverPull")
    assert state["message"] == ('Container image "kubeadmpy.local/absent:1" is not present '
                                "with pull policy of Never")


async def test_restart_policy_never_leaves_a_finished_pod_succeeded_or_failed(
        node: Node, client: Client, namespace: str) -> None:
    ok = pod_manifest("done", [busybox("main", "exit 0")], restartPolicy="Never")
    bad = pod_manifest("broken", [busybox("main", "exit 7")], restartPolicy="Never")
    async with running_kubelet(node):
        await create_bound_pod(client, namespace, ok, node.name)
        await create_bound_pod(client, namespace, bad, node.name)

        async def phase(name: str, wanted: str) -> JSONObject | None:
            found = await client.get("pods", name, namespace)
            return found if found.get("status", {}).get("phase") == wanted else None
        done = await eventually(lambda: phase("done", "Succeeded"), "Succeeded")
        broken = await eventually(lambda: phase("broken", "Failed"), "Failed")
    before = await containers_of(node.runtime, done["metadata"]["uid"])
    async with running_kubelet(node) as kubelet:
        # A new kubelet must not run a finished pod again.
        await eventually(lambda: _has_worker(kubelet, done["metadata"]["uid"]), "adopted")
        await asyncio.sleep(2.5)
        again = await client.get("pods", "done", namespace)
    assert [c.id for c in await containers_of(node.runtime, done["metadata"]["uid"])] == \
        [c.id for c in before]
    assert again["status"]["phase"] == "Succeeded"
    assert done["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == \
        "Completed"
    terminated = broken["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (7, "Error")
    assert broken["status"]["containerStatuses"][0]["restartCount"] == 0


async def test_deletion_runs_the_pre_stop_hook_then_stops_and_removes_everything(
        node: Node, client: Client, namespace: str) -> None:
    marker = node.workdir / "prestop"
    marker.mkdir()
    container = busybox(
        "main", "trap 'echo term >> /out/log; exit 0' TERM; while true; do sleep 0.1; done",
        lifecycle={"preStop": {"exec": {"command": ["sh", "-c", "echo prestop >> /out/log"]}}},
        volumeMounts=[{"name": "out", "mountPath": "/out"}])
    pod = pod_manifest("graceful", [container],
                       volumes=[{"name": "out", "hostPath": {"path": str(marker),
                                                             "type": "Directory"}}],
                       terminationGracePeriodSeconds=20)
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)
        uid = created["metadata"]["uid"]

        async def running() -> bool:
            return any(c.state == api.CONTAINER_RUNNING
                       for c in await containers_of(node.runtime, uid))
        await eventually(running, "Running")
        await client.delete("pods", "graceful", namespace)

        async def gone() -> bool:
            try:
                await client.get("pods", "graceful", namespace)
            except errors.NotFound:
                return True
            return False
        await eventually(gone, "pod object removed after termination")
        assert await containers_of(node.runtime, uid) == []
    assert (marker / "log").read_text().split() == ["prestop", "term"]


async def test_an_emptydir_in_memory_is_a_tmpfs_and_resources_reach_the_cgroup(
        node: Node, client: Client, namespace: str) -> None:
    container = busybox("main", "sleep 3600",
                        resources={"limits": {"memory": "64Mi", "cpu": "250m"},
                                   "requests": {"memory": "64Mi", "cpu": "250m"}},
                        volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}])
    pod = pod_manifest("tmpfs", [container],
                       volumes=[{"name": "scratch", "emptyDir": {"medium": "Memory"}}])
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)

        async def running_status() -> JSONObject | None:
            found = await client.get("pods", "tmpfs", namespace)
            return found if found.get("status", {}).get("phase") == "Running" else None
        found = await eventually(running_status, "Running")
        [running] = await containers_of(node.runtime, created["metadata"]["uid"])
        async with CRIClient(node.runtime.endpoint) as cri:
            mounts = (await cri.exec_sync(running.id, ["cat", "/proc/mounts"], 10)).stdout
            status = await cri.container_status(running.id, verbose=True)
    assert any(line.split()[1:3] == ["/scratch", "tmpfs"]
               for line in mounts.decode().splitlines())
    assert found["status"]["qosClass"] == "Guaranteed"
    resources = status.status.resources.linux
    assert resources.memory_limit_in_bytes == 64 * 2**20
    assert (resources.cpu_quota, resources.cpu_period) == (25000, 100000)


async def test_a_missing_config_map_key_is_a_create_container_config_error(
        node: Node, client: Client, namespace: str) -> None:
    await client.create("configmaps", {"metadata": {"name": "partial"}, "data": {"a": "1"}},
                        namespace)
    container = busybox("main", "sleep 3600", env=[{"name": "B", "valueFrom": {
        "configMapKeyRef": {"name": "partial", "key": "b"}}}])
    async with running_kubelet(node):
        await create_bound_pod(client, namespace, pod_manifest("misconf", [container]),
                               node.name)

        async def waiting() -> JSONObject | None:
            status = await container_status(client, namespace, "misconf")
            state = ((status or {}).get("state") or {}).get("waiting") or {}
            return state if state.get("reason") == "CreateContainerConfigError" else None
        state = await eventually(waiting, "CreateContainerConfigError")
    assert state["message"] == f"couldn't find key b in ConfigMap {namespace}/partial"
    await asyncio.sleep(0)


async def _has_worker(kubelet: Any, uid: str) -> bool:
    return uid in kubelet.state.workers
