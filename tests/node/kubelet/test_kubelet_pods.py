"""The kubelet against a real containerd + runc + bridge CNI and a real etcd + apiserver:
static pods and mirror pods, API pods bound to the node, status, deletion, node and Lease."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import yaml
from kubelet_harness import (
    Node,
    busybox,
    containers_of,
    create_bound_pod,
    eventually,
    pod_manifest,
    running_kubelet,
    sandboxes_of,
    unique,
)

from kubeadmpy.client import Client, errors
from kubeadmpy.cri import CRIClient, api

JSONObject = dict[str, Any]


async def get_pod(client: Client, namespace: str, name: str) -> JSONObject | None:
    try:
        return await client.get("pods", name, namespace)
    except errors.NotFound:
        return None


def running_status(pod: JSONObject | None) -> JSONObject | None:
    status = (pod or {}).get("status") or {}
    if status.get("phase") != "Running":
        return None
    states = [s.get("state", {}) for s in status.get("containerStatuses") or []]
    return status if states and all("running" in s for s in states) else None


async def test_a_static_pod_file_runs_in_containerd_and_shows_as_a_mirror_pod(
        node: Node, client: Client) -> None:
    manifest = pod_manifest("web", [busybox("main", "sleep 3600")])
    (node.workdir / "manifests").mkdir(parents=True, exist_ok=True)
    (node.workdir / "manifests" / "web.yaml").write_text(yaml.safe_dump(manifest))
    mirror_name = f"web-{node.name}"
    async with running_kubelet(node):
        mirror = await eventually(lambda: get_pod(client, "default", mirror_name),
                                  "mirror pod created")
        annotations = mirror["metadata"]["annotations"]
        uid = annotations["kubernetes.io/config.hash"]
        assert annotations["kubernetes.io/config.mirror"] == uid
        assert annotations["kubernetes.io/config.source"] == "file"
        assert mirror["spec"]["nodeName"] == node.name
        running = await eventually(
            lambda: running_pod_containers(node, uid), "static pod container running")
        assert [c.labels["io.kubernetes.container.name"] for c in running] == ["main"]
        status = await eventually(
            lambda: _running(client, "default", mirror_name), "mirror pod status Running")
        assert status["podIP"].startswith(node.runtime.subnet.rsplit(".", 2)[0])

        (node.workdir / "manifests" / "web.yaml").unlink()
        await eventually(lambda: _gone(client, "default", mirror_name), "mirror pod deleted")
        await eventually(lambda: _no_containers(node, uid), "static pod removed from CRI")


async def running_pod_containers(node: Node, uid: str) -> list[api.Container]:
    return [c for c in await containers_of(node.runtime, uid)
            if c.state == api.CONTAINER_RUNNING]


async def _running(client: Client, namespace: str, name: str) -> JSONObject | None:
    return running_status(await get_pod(client, namespace, name))


async def _gone(client: Client, namespace: str, name: str) -> bool:
    return await get_pod(client, namespace, name) is None


async def _no_containers(node: Node, uid: str) -> bool:
    return not await containers_of(node.runtime, uid) and \
        not await sandboxes_of(node.runtime, uid)


async def test_an_api_pod_bound_to_the_node_runs_reports_status_and_is_removed_on_delete(
        node: Node, client: Client, namespace: str) -> None:
    pod = pod_manifest("app", [busybox("one", "sleep 3600"), busybox("two", "sleep 3600")])
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)
        uid = created["metadata"]["uid"]
        status = await eventually(lambda: _running(client, namespace, "app"), "pod Running")
        conditions = {c["type"]: c["status"] for c in status["conditions"]}
        assert conditions == {"PodReadyToStartContainers": "True", "Initialized": "True",
                              "Ready": "True", "ContainersReady": "True",
                              "PodScheduled": "True"}
        assert status["hostIP"] == "127.0.0.1"
        assert status["qosClass"] == "BestEffort"
        assert status["startTime"]
        by_name = {s["name"]: s for s in status["containerStatuses"]}
        assert set(by_name) == {"one", "two"}
        for entry in by_name.values():
            assert entry["ready"] and entry["started"] and entry["restartCount"] == 0
            assert entry["containerID"].startswith("containerd://")
            assert entry["imageID"].startswith("sha256:")

        async def events_written() -> set[tuple[str, str]] | None:
            found = {(e["reason"], e["message"]) for e in
                     (await client.list("events", namespace)).items
                     if e["involvedObject"]["name"] == "app"}
            return found if len(found) >= 5 else None
        events = await eventually(events_written, "events recorded")
        assert ("Created", "Created container one") in events
        assert ("Started", "Started container two") in events
        assert any(reason == "Pulled" and "already present on machine" in message
                   for reason, message in events)
        # The real kubectl reads the status the kubelet wrote.
        listed = await asyncio.to_thread(node.cluster.kubectl, "1.33", "get", "pod", "app",
                                         "-n", namespace, "-o", "wide", "--no-headers")
        table = listed.stdout.split()
        assert table[1:3] == ["2/2", "Running"]
        assert status["podIP"] in table and node.name in table

        await client.delete("pods", "app", namespace)
        await eventually(lambda: _gone(client, namespace, "app"), "pod object removed")
        await eventually(lambda: _no_containers(node, uid), "containers and sandbox removed")


async def test_init_containers_run_in_order_before_the_app_container(
        node: Node, client: Client, namespace: str) -> None:
    pod = pod_manifest("ordered", [busybox("app", "cat /work/log; sleep 3600",
                                           volumeMounts=[{"name": "w", "mountPath": "/work"}])],
                       initContainers=[
                           busybox("first", "echo first >> /work/log",
                                   volumeMounts=[{"name": "w", "mountPath": "/work"}]),
                           busybox("second", "echo second >> /work/log",
                                   volumeMounts=[{"name": "w", "mountPath": "/work"}])],
                       volumes=[{"name": "w", "emptyDir": {}}])
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)
        status = await eventually(lambda: _running(client, namespace, "ordered"), "Running")
        inits = status["initContainerStatuses"]
        assert [(s["name"], s["state"]["terminated"]["reason"]) for s in inits] == [
            ("first", "Completed"), ("second", "Completed")]
        app = next(c for c in await containers_of(node.runtime, created["metadata"]["uid"])
               if c.labels["io.kubernetes.container.name"] == "app")
        async with CRIClient(node.runtime.endpoint) as cri:
            result = await cri.exec_sync(app.id, ["cat", "/work/log"], 10)
        assert result.stdout == b"first\nsecond\n"


async def test_configmap_and_secret_reach_the_container_as_files_and_environment(
        node: Node, client: Client, namespace: str) -> None:
    await client.create("configmaps", {"metadata": {"name": "settings"},
                                       "data": {"color": "blue", "size": "L"}}, namespace)
    await client.create("secrets", {"metadata": {"name": "creds"}, "data": {
        "password": base64.b64encode(b"s3cret").decode()}}, namespace)
    container = busybox(
        "app", "sleep 3600",
        env=[{"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "settings",
                                                                  "key": "color"}}},
             {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds",
                                                                  "key": "password"}}},
             {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
             {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
             {"name": "GREETING", "value": "hello $(COLOR)"}],
        envFrom=[{"prefix": "CM_", "configMapRef": {"name": "settings"}}],
        volumeMounts=[{"name": "cfg", "mountPath": "/etc/cfg"},
                      {"name": "sec", "mountPath": "/etc/sec"},
                      {"name": "info", "mountPath": "/etc/info"}])
    pod = pod_manifest("consumer", [container], volumes=[
        {"name": "cfg", "configMap": {"name": "settings", "items": [
            {"key": "color", "path": "nested/color.txt"}]}},
        {"name": "sec", "secret": {"secretName": "creds", "defaultMode": 0o400}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}])
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)
        await eventually(lambda: _running(client, namespace, "consumer"), "Running")
        [app] = await containers_of(node.runtime, created["metadata"]["uid"])
        async with CRIClient(node.runtime.endpoint) as cri:
            env = (await cri.exec_sync(app.id, ["env"], 10)).stdout.decode().splitlines()
            files = await cri.exec_sync(app.id, ["sh", "-c",
                                                 "cat /etc/cfg/nested/color.txt; echo; "
                                                 "cat /etc/sec/password; echo; "
                                                 "cat /etc/info/namespace; echo; "
                                                 "stat -L -c %a /etc/sec/password"], 10)
            read_only = await cri.exec_sync(app.id, ["sh", "-c", "echo x > /etc/cfg/new"], 10)
    assert {"COLOR=blue", "PASSWORD=s3cret", "POD_NAME=consumer", f"NODE={node.name}",
            "GREETING=hello blue", "CM_color=blue", "CM_size=L"} <= set(env)
    assert files.stdout.decode().split("\n") == ["blue", "s3cret", namespace, "400", ""]
    assert read_only.exit_code != 0


async def test_a_privileged_container_runs_with_full_privileges_next_to_a_plain_one(
        node: Node, client: Client, namespace: str) -> None:
    """Network add-ons (flannel, kube-proxy) run privileged: the sandbox must be too."""
    pod = pod_manifest("privileged", [
        busybox("root", "sleep 3600", securityContext={"privileged": True}),
        busybox("plain", "sleep 3600")])
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)
        await eventually(lambda: _running(client, namespace, "privileged"), "Running")
        found = await containers_of(node.runtime, created["metadata"]["uid"])
        by_name = {container.metadata.name: container for container in found}
        mount = ["sh", "-c", "mkdir -p /scratch && mount -t tmpfs none /scratch"]  # CAP_SYS_ADMIN
        async with CRIClient(node.runtime.endpoint) as cri:
            privileged = await cri.exec_sync(by_name["root"].id, mount, 10)
            plain = await cri.exec_sync(by_name["plain"].id, mount, 10)
    assert privileged.exit_code == 0, privileged.stderr
    assert plain.exit_code != 0


async def test_containers_get_service_link_variables(
        node: Node, client: Client, namespace: str) -> None:
    """In-cluster clients find the API server through KUBERNETES_SERVICE_HOST/PORT."""
    made = await client.create("services", {"metadata": {"name": "redis-primary"}, "spec": {
        "ports": [{"name": "redis", "port": 6379}], "selector": {"app": "redis"}}}, namespace)
    api = await client.get("services", "kubernetes", "default")
    pod = pod_manifest("linked", [busybox("app", "sleep 3600")])
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)
        await eventually(lambda: _running(client, namespace, "linked"), "Running")
        [app] = await containers_of(node.runtime, created["metadata"]["uid"])
        async with CRIClient(node.runtime.endpoint) as cri:
            env = (await cri.exec_sync(app.id, ["env"], 10)).stdout.decode().splitlines()
    assert f"KUBERNETES_SERVICE_HOST={api['spec']['clusterIP']}" in env
    assert "KUBERNETES_SERVICE_PORT=443" in env
    assert f"REDIS_PRIMARY_SERVICE_HOST={made['spec']['clusterIP']}" in env
    assert "REDIS_PRIMARY_SERVICE_PORT_REDIS=6379" in env


async def test_the_node_registers_ready_with_capacity_and_renews_its_lease(
        node: Node, client: Client) -> None:
    async with running_kubelet(node, register_with_taints=(
            {"key": "example.com/dedicated", "value": "tests", "effect": "NoSchedule"},)):
        async def ready() -> JSONObject | None:
            try:
                found = await client.get("nodes", node.name)
            except errors.NotFound:
                return None  # not registered yet
            conditions = {c["type"]: c for c in found.get("status", {}).get("conditions", [])}
            return found if conditions.get("Ready", {}).get("status") == "True" else None
        found = await eventually(ready, "node Ready")

        async def lease() -> JSONObject | None:
            try:
                return await client.get("leases", node.name, "kube-node-lease")
            except errors.NotFound:
                return None
        first = await eventually(lease, "lease created")

        async def renewed() -> bool:
            lease = await client.get("leases", node.name, "kube-node-lease")
            return lease["spec"]["renewTime"] != first["spec"]["renewTime"]
        await eventually(renewed, "lease renewed")
    status = found["status"]
    assert {"cpu", "memory", "pods", "ephemeral-storage"} <= set(status["capacity"])
    assert status["capacity"]["pods"] == "110"
    assert {a["type"]: a["address"] for a in status["addresses"]} == {
        "InternalIP": "127.0.0.1", "Hostname": node.name}
    assert {c["type"] for c in status["conditions"]} == {
        "Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}
    assert status["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
    assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] > 0  # the bound port
    assert found["spec"]["taints"] == [{"key": "example.com/dedicated", "value": "tests",
                                        "effect": "NoSchedule"}]
    assert first["spec"]["holderIdentity"] == node.name
    assert first["spec"]["leaseDurationSeconds"] == 8


async def test_restarting_the_kubelet_keeps_running_containers_and_status_converges(
        node: Node, client: Client, namespace: str) -> None:
    pod = pod_manifest("survivor", [busybox("main", "sleep 3600")])
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)
        await eventually(lambda: _running(client, namespace, "survivor"), "Running")
        before = await running_pod_containers(node, created["metadata"]["uid"])
    # The kubelet is gone; the pod still runs.
    assert [c.id for c in await running_pod_containers(node, created["metadata"]["uid"])] == \
        [c.id for c in before]
    async with running_kubelet(node) as kubelet:
        await eventually(lambda: _synced(kubelet, created["metadata"]["uid"]), "worker synced")
        status = await eventually(lambda: _running(client, namespace, "survivor"), "Running")
        after = await running_pod_containers(node, created["metadata"]["uid"])
    assert [c.id for c in after] == [c.id for c in before]
    assert status["containerStatuses"][0]["containerID"] == f"containerd://{before[0].id}"
    assert status["containerStatuses"][0]["restartCount"] == 0
    assert len(await sandboxes_of(node.runtime, created["metadata"]["uid"])) == 1


async def _synced(kubelet: Any, uid: str) -> bool:
    return uid in kubelet.state.workers and kubelet.statuses.get(uid) is not None


def unused() -> str:
    return unique("x")


async def test_a_config_map_change_reaches_the_running_container_atomically(
        node: Node, client: Client, namespace: str) -> None:
    await client.create("configmaps", {"metadata": {"name": "live"},
                                       "data": {"mode": "one"}}, namespace)
    container = busybox("app", "sleep 3600",
                        volumeMounts=[{"name": "cfg", "mountPath": "/etc/live"}])
    pod = pod_manifest("watcher", [container],
                       volumes=[{"name": "cfg", "configMap": {"name": "live"}}])
    async with running_kubelet(node, sync_frequency_seconds=1.0):
        created = await create_bound_pod(client, namespace, pod, node.name)
        await eventually(lambda: _running(client, namespace, "watcher"), "Running")
        [app] = await containers_of(node.runtime, created["metadata"]["uid"])
        await client.patch("configmaps", "live", {"data": {"mode": "two"}}, namespace)

        async def updated() -> bool:
            async with CRIClient(node.runtime.endpoint) as cri:
                seen = await cri.exec_sync(app.id, ["cat", "/etc/live/mode"], 10)
            return seen.stdout == b"two"
        await eventually(updated, "new value visible in the container")
        async with CRIClient(node.runtime.endpoint) as cri:
            link = await cri.exec_sync(app.id, ["readlink", "/etc/live/mode"], 10)
    assert link.stdout == b"..data/mode\n"


async def test_a_cluster_first_pod_gets_the_cluster_dns_in_its_resolv_conf(
        node: Node, client: Client, namespace: str) -> None:
    pod = pod_manifest("dns", [busybox("main", "sleep 3600")],
                       dnsConfig={"options": [{"name": "timeout", "value": "2"}]})
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)
        await eventually(lambda: _running(client, namespace, "dns"), "Running")
        [app] = await containers_of(node.runtime, created["metadata"]["uid"])
        async with CRIClient(node.runtime.endpoint) as cri:
            text = (await cri.exec_sync(app.id, ["cat", "/etc/resolv.conf"], 10)).stdout
    lines = text.decode().splitlines()
    assert "nameserver 10.96.0.10" in lines
    assert f"search {namespace}.svc.cluster.local svc.cluster.local cluster.local example" \
        in lines
    assert "options ndots:5 timeout:2" in lines
