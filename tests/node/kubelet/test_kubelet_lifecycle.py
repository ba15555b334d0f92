"""More of the kubelet's life on a real containerd and API server: mirror pods come back when
deleted, a killed container is restarted, host-network pods, the service-account token volume
and TLS bootstrap of the node's client certificate."""

from __future__ import annotations

import asyncio
import base64
import datetime
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubelet_harness import (
    Node,
    busybox,
    client_for,
    containers_of,
    create_bound_pod,
    eventually,
    pod_manifest,
    running_kubelet,
)

from kubeadmpy.client import Client, errors, load_kubeconfig
from kubeadmpy.cri import CRIClient, api
from kubeadmpy.kubelet.bootstrap import SIGNER, bootstrap

JSONObject = dict[str, Any]


async def get_pod(client: Client, namespace: str, name: str) -> JSONObject | None:
    try:
        return await client.get("pods", name, namespace)
    except errors.NotFound:
        return None


async def running_ids(node: Node, uid: str) -> list[str]:
    return [c.id for c in await containers_of(node.runtime, uid)
            if c.state == api.CONTAINER_RUNNING]


async def test_a_deleted_mirror_pod_is_created_again_while_the_static_pod_keeps_running(
        node: Node, client: Client) -> None:
    (node.workdir / "manifests").mkdir(parents=True, exist_ok=True)
    (node.workdir / "manifests" / "keep.yaml").write_text(yaml.safe_dump(
        pod_manifest("keep", [busybox("main", "sleep 3600")])))
    name = f"keep-{node.name}"
    async with running_kubelet(node):
        mirror = await eventually(lambda: get_pod(client, "default", name), "mirror pod")
        uid = mirror["metadata"]["annotations"]["kubernetes.io/config.hash"]
        before = await eventually(lambda: running_ids(node, uid), "static pod running")
        await client.delete("pods", name, "default", grace_period_seconds=0)

        async def recreated() -> JSONObject | None:
            found = await get_pod(client, "default", name)
            return found if found and found["metadata"]["uid"] != \
                mirror["metadata"]["uid"] else None
        await eventually(recreated, "mirror pod recreated")
        assert await running_ids(node, uid) == before
        (node.workdir / "manifests" / "keep.yaml").unlink()
        await eventually(lambda: _none(get_pod(client, "default", name)), "mirror removed")


async def _none(value: Any) -> bool:
    return await value is None


async def test_a_container_killed_behind_the_kubelets_back_is_restarted(
        node: Node, client: Client, namespace: str) -> None:
    pod = pod_manifest("phoenix", [busybox("main", "sleep 3600")])
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)
        uid = created["metadata"]["uid"]
        [first] = await eventually(lambda: running_ids(node, uid), "running")
        async with CRIClient(node.runtime.endpoint) as cri:
            await cri.stop_container(first, 0)  # what a crash or `crictl stop` does

        async def restarted() -> JSONObject | None:
            found = await get_pod(client, namespace, "phoenix")
            statuses = (found or {}).get("status", {}).get("containerStatuses") or []
            if statuses and statuses[0]["restartCount"] == 1 and \
                    "running" in statuses[0]["state"]:
                return statuses[0]
            return None
        status = await eventually(restarted, "restarted once")
    assert status["containerID"] != f"containerd://{first}"
    assert status["lastState"]["terminated"]["containerID"] == f"containerd://{first}"


async def test_a_host_network_pod_gets_the_node_address(
        node: Node, client: Client, namespace: str) -> None:
    pod = pod_manifest("hostnet", [busybox("main", "sleep 3600")], hostNetwork=True)
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)

        async def running() -> JSONObject | None:
            found = await get_pod(client, namespace, "hostnet")
            status = (found or {}).get("status") or {}
            return status if status.get("phase") == "Running" else None
        status = await eventually(running, "Running")
        [container_id] = await running_ids(node, created["metadata"]["uid"])
        async with CRIClient(node.runtime.endpoint) as cri:
            links = (await cri.exec_sync(container_id, ["ls", "/sys/class/net"], 10)).stdout
    assert status["podIP"] == "127.0.0.1" == status["hostIP"]
    assert set(os.listdir("/sys/class/net")) == set(links.decode().split())


async def test_a_projected_service_account_token_is_written_into_the_pod(
        node: Node, client: Client, namespace: str) -> None:
    await client.create("serviceaccounts", {"metadata": {"name": "default"}}, namespace)
    container = busybox("main", "sleep 3600", volumeMounts=[{"name": "token",
                                                              "mountPath": "/var/run/sa"}])
    pod = pod_manifest("tokened", [container], volumes=[{"name": "token", "projected": {
        "sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]}}])
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)
        [container_id] = await eventually(
            lambda: running_ids(node, created["metadata"]["uid"]), "running", 20)
        async with CRIClient(node.runtime.endpoint) as cri:
            token = (await cri.exec_sync(container_id, ["cat", "/var/run/sa/token"], 10)).stdout
    assert token.count(b".") == 2  # a JWT


def sign(csr_pem: bytes, ca_dir: Path) -> bytes:
    """What the controller-manager's signer does, with the cluster CA of the test."""
    ca = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
    key = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), None)
    request = x509.load_pem_x509_csr(csr_pem)
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(request.subject)
                   .issuer_name(ca.subject).public_key(request.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))  # type: ignore[arg-type]
    return certificate.public_bytes(serialization.Encoding.PEM)


async def act_as_signer(client: Client, ca_dir: Path) -> JSONObject:
    """Approve and sign the first kubelet CSR that shows up; return it as sent."""
    while True:
        for csr in (await client.list("certificatesigningrequests")).items:
            if csr["spec"].get("signerName") != SIGNER or csr.get("status", {}).get(
                    "certificate"):
                continue
            csr.setdefault("status", {})["conditions"] = [{
                "type": "Approved", "status": "True", "reason": "TestApproved",
                "message": "approved by the test"}]
            approved = await client.update("certificatesigningrequests", csr,
                                           subresource="approval")
            approved["status"]["certificate"] = base64.b64encode(sign(
                base64.b64decode(csr["spec"]["request"]), ca_dir)).decode()
            await client.update("certificatesigningrequests", approved, subresource="status")
            return csr
        await asyncio.sleep(0.1)


async def test_tls_bootstrap_writes_the_rotated_pair_and_a_working_kubeconfig(
        node: Node, client: Client) -> None:
    kubeconfig = node.workdir / "kubelet.conf"
    cert_dir = node.workdir / "pki"
    signer = asyncio.create_task(act_as_signer(client, node.cluster.certs.dir))
    try:
        made = await bootstrap(kubeconfig, Path(node.cluster.kubeconfig), cert_dir,
                               node.name, within_seconds=30)
        csr = await signer
    finally:
        signer.cancel()
    assert made
    request = x509.load_pem_x509_csr(base64.b64decode(csr["spec"]["request"]))
    assert request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == \
        f"system:node:{node.name}"
    assert request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == \
        "system:nodes"
    current = cert_dir / "kubelet-client-current.pem"
    assert current.is_symlink()
    assert Path(os.readlink(current)).name.startswith("kubelet-client-")
    assert oct(current.stat().st_mode & 0o777) == "0o600"
    user = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]
    assert user == {"client-certificate": str(current), "client-key": str(current)}
    async with Client(load_kubeconfig(kubeconfig)) as as_node:
        assert (await as_node.version())["major"] == "1"
    # A second start finds the kubeconfig and does not ask again.
    assert not await bootstrap(kubeconfig, Path(node.cluster.kubeconfig), cert_dir, node.name)
    async with client_for(node.cluster):
        pass


async def test_a_static_pod_survives_a_kubelet_restart_and_the_healthz_port_answers(
        node: Node, client: Client) -> None:
    (node.workdir / "manifests").mkdir(parents=True, exist_ok=True)
    (node.workdir / "manifests" / "cp.yaml").write_text(yaml.safe_dump(
        pod_manifest("cp", [busybox("main", "sleep 3600")], hostNetwork=True)))
    name = f"cp-{node.name}"
    async with running_kubelet(node) as kubelet:
        mirror = await eventually(lambda: get_pod(client, "default", name), "mirror pod")
        uid = mirror["metadata"]["annotations"]["kubernetes.io/config.hash"]
        before = await eventually(lambda: running_ids(node, uid), "static pod running")
        if kubelet.api_server is not None:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", kubelet.api_server.healthz_port)
            writer.write(b"GET /healthz HTTP/1.0\r\n\r\n")
            answer = await reader.read()
            writer.close()
            assert answer.endswith(b"ok")
    async with running_kubelet(node) as kubelet:
        await eventually(lambda: _worker_synced(kubelet, uid), "adopted")
        await eventually(lambda: _registered(kubelet), "the existing Node adopted")
        await asyncio.sleep(1.5)  # a relist or two: nothing may be recreated
        assert await running_ids(node, uid) == before
        (node.workdir / "manifests" / "cp.yaml").unlink()
        await eventually(lambda: _none(get_pod(client, "default", name)), "mirror removed")


async def _worker_synced(kubelet: Any, uid: str) -> bool:
    return uid in kubelet.state.workers and kubelet.statuses.get(uid) is not None


async def _registered(kubelet: Any) -> bool:
    return bool(kubelet.reporter.registered.is_set())


async def test_folders_of_pods_that_went_away_while_the_kubelet_was_down_are_removed(
        node: Node, client: Client) -> None:
    leftover = node.workdir / "kubelet" / "pods" / "0b5e7c1e-dead-4bee-8000-000000000000"
    (leftover / "volumes" / "kubernetes.io~empty-dir" / "cache").mkdir(parents=True)
    async with running_kubelet(node):
        async def removed() -> bool:
            return not leftover.exists()
        await eventually(removed, "orphaned pod folder removed")


async def test_static_pods_run_before_the_api_server_exists_and_register_once_it_does(
        node: Node, client: Client) -> None:
    """The init order: kubelet first, its static pods (the control plane) next, API last."""
    from apiserver_harness import APIServerProcess, free_port
    port = free_port()
    kubeconfig = node.workdir / "late.conf"
    kubeconfig.write_text(node.cluster.certs.kubeconfig(f"https://127.0.0.1:{port}"))
    (node.workdir / "manifests").mkdir(parents=True, exist_ok=True)
    (node.workdir / "manifests" / "early.yaml").write_text(yaml.safe_dump(
        pod_manifest("early", [busybox("main", "sleep 3600")], hostNetwork=True)))
    late = APIServerProcess(node.cluster.certs, node.cluster.etcd, node.workdir, port=port)
    try:
        async with running_kubelet(node, kubeconfig=str(kubeconfig)):
            async def running_without_api() -> list[Any]:
                async with CRIClient(node.runtime.endpoint) as cri:
                    return [c for c in await cri.list_containers(api.ContainerFilter(
                        label_selector={"io.kubernetes.pod.name": f"early-{node.name}"}))
                        if c.state == api.CONTAINER_RUNNING]
            await eventually(running_without_api, "static pod running with no API server")
            await asyncio.to_thread(late.start)
            await eventually(lambda: get_pod(client, "default", f"early-{node.name}"),
                             "mirror pod once the API server is up")
            node_object = await client.get("nodes", node.name)
            (node.workdir / "manifests" / "early.yaml").unlink()
            await eventually(lambda: _none(get_pod(client, "default", f"early-{node.name}")),
                             "mirror removed")
    finally:
        await asyncio.to_thread(late.stop)
    assert node_object["metadata"]["name"] == node.name


async def test_the_kubelet_api_serves_container_logs_of_its_pods(
        node: Node, client: Client, namespace: str) -> None:
    """The kubelet's server (kubeadmpy.kubelet.server) finds pods through the kubelet."""
    import ssl

    import aiohttp
    ca, cert, key = node.cluster.client_files()
    authentication = {"x509": {"clientCAFile": ca}, "webhook": {"enabled": True},
                      "anonymous": {"enabled": False}}
    pod = pod_manifest("talker", [busybox("main", "echo hello from talker; sleep 3600")])
    async with running_kubelet(node, authentication=authentication,
                               authorization={"mode": "Webhook"}) as kubelet:
        if kubelet.api_server is None:
            pytest.skip("kubeadmpy.kubelet.server is not installed")
        await create_bound_pod(client, namespace, pod, node.name)

        async def running() -> bool:
            found = await get_pod(client, namespace, "talker")
            return (found or {}).get("status", {}).get("phase") == "Running"
        await eventually(running, "Running")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the kubelet's self-signed serving certificate
        context.load_cert_chain(cert, key)
        url = (f"https://127.0.0.1:{kubelet.api_server.port}/containerLogs/{namespace}/"
               "talker/main")

        async def logs() -> str:
            async with aiohttp.ClientSession() as session, \
                    session.get(url, ssl=context) as reply:
                return await reply.text() if reply.status == 200 else ""
        text = await eventually(logs, "log line served")
    assert text == "hello from talker\n"


async def test_with_its_own_node_identity_the_kubelet_passes_node_authorization(
        node: Node, client: Client, namespace: str) -> None:
    """kubelet.conf's identity (system:node:<name> in system:nodes) under the Node authorizer
    and NodeRestriction: registration, Lease, mirror pod, pod status, configMap volume."""
    kubeconfig = node.workdir / "kubelet.conf"
    kubeconfig.write_text(node.cluster.certs.kubeconfig(
        node.cluster.apiserver.url, f"system:node:{node.name}", ("system:nodes",)))
    (node.workdir / "manifests").mkdir(parents=True, exist_ok=True)
    (node.workdir / "manifests" / "static.yaml").write_text(yaml.safe_dump(
        pod_manifest("static", [busybox("main", "sleep 3600")])))
    await client.create("configmaps", {"metadata": {"name": "conf"}, "data": {"k": "v"}},
                        namespace)
    pod = pod_manifest("bound", [busybox("main", "sleep 3600", volumeMounts=[
        {"name": "c", "mountPath": "/c"}])], volumes=[{"name": "c", "configMap": {
            "name": "conf"}}])
    async with running_kubelet(node, kubeconfig=str(kubeconfig)):
        await create_bound_pod(client, namespace, pod, node.name)
        mirror = await eventually(lambda: get_pod(client, "default", f"static-{node.name}"),
                                  "mirror pod created by the node")

        async def running(name: str, ns: str) -> JSONObject | None:
            found = await get_pod(client, ns, name)
            return found if (found or {}).get("status", {}).get("phase") == "Running" \
                else None
        await eventually(lambda: running("bound", namespace), "API pod Running")
        await eventually(lambda: running(f"static-{node.name}", "default"),
                         "mirror pod status written by the node")

        async def lease() -> JSONObject | None:
            try:
                return await client.get("leases", node.name, "kube-node-lease")
            except errors.NotFound:
                return None
        await eventually(lease, "lease written by the node")
        (node.workdir / "manifests" / "static.yaml").unlink()
        await eventually(lambda: _none(get_pod(client, "default", f"static-{node.name}")),
                         "mirror removed by the node")
    assert mirror["metadata"]["ownerReferences"][0]["name"] == node.name


async def test_a_pod_force_deleted_while_the_kubelet_was_down_is_removed_from_the_runtime(
        node: Node, client: Client, namespace: str) -> None:
    pod = pod_manifest("forgotten", [busybox("main", "sleep 3600")])
    async with running_kubelet(node):
        created = await create_bound_pod(client, namespace, pod, node.name)
        uid = created["metadata"]["uid"]
        await eventually(lambda: running_ids(node, uid), "running")
    await client.delete("pods", "forgotten", namespace, grace_period_seconds=0)
    assert await running_ids(node, uid)  # nobody has stopped it yet
    async with running_kubelet(node):
        async def cleaned() -> bool:
            async with CRIClient(node.runtime.endpoint) as cri:
                sandboxes = await cri.list_pod_sandbox(api.PodSandboxFilter(
                    label_selector={"io.kubernetes.pod.uid": uid}))
            return not sandboxes and not await containers_of(node.runtime, uid)
        await eventually(cleaned, "orphaned pod removed")
