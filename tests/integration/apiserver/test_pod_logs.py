"""`kubectl logs` and the node proxy through kubeadmpy-apiserver: the apiserver finds the pod's node and relays the
kubelet's /containerLogs stream. The kubeadmpy kubelet is not part of this test's scope, so a
`FakeKubelet` (a TLS HTTP server on loopback that speaks the kubelet's log endpoint and records
the client certificate it was called with) stands at the node's address."""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from apiserver_harness import KUBECTL_VERSIONS, Cluster, free_port

_names = itertools.count()
LINES = [f"line {i}" for i in range(1, 6)]


@dataclass
class FakeKubelet:
    port: int
    calls: list[tuple[str, dict[str, str], str]] = field(default_factory=list)

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        subject = dict(x[0] for x in (peer or {}).get("subject", ()))
        self.calls.append((request.path, dict(request.query), subject.get("commonName", "")))
        lines = LINES
        if "tailLines" in request.query:
            lines = lines[-int(request.query["tailLines"]):]
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        for line in lines:
            await response.write(f"{line}\n".encode())
            if request.query.get("follow") == "true":
                await asyncio.sleep(0.05)
        return response


    async def summary(self, request: web.Request) -> web.Response:
        self.calls.append((request.path, dict(request.query), ""))
        return web.json_response({"node": {"nodeName": "fake"}})


@pytest.fixture
async def kubelet(cluster: Cluster) -> AsyncIterator[FakeKubelet]:
    certs = cluster.certs
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.path("apiserver.crt"), certs.path("apiserver.key"))
    context.load_verify_locations(certs.path("ca.crt"))
    context.verify_mode = ssl.CERT_OPTIONAL
    fake = FakeKubelet(free_port())
    app = web.Application()
    app.router.add_get("/containerLogs/{ns}/{pod}/{container}", fake.container_logs)
    app.router.add_get("/stats/summary", fake.summary)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", fake.port, ssl_context=context).start()
        yield fake
    finally:
        await runner.cleanup()


def setup_pod(cluster: Cluster, port: int, containers: list[str]) -> tuple[str, str]:
    ns, node = f"logs{next(_names)}", f"logs-node{next(_names)}"
    k = cluster.kubectl
    k("1.33", "create", "namespace", ns)
    k("1.33", "create", "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": node},
        "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}}))
    k("1.33", "create", "-n", ns, "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": {"nodeName": node,
                 "containers": [{"name": c, "image": "busybox"} for c in containers]}}))
    return ns, node


async def kubectl(cluster: Cluster, version: str, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(cluster.kubectl, version, *args, check=False)


@pytest.mark.parametrize("version", sorted(KUBECTL_VERSIONS), ids=lambda v: f"kubectl-{v}")
async def test_logs_are_relayed_from_the_pods_kubelet(cluster: Cluster, kubelet: FakeKubelet,
                                                      version: str) -> None:
    ns, _ = await asyncio.to_thread(setup_pod, cluster, kubelet.port, ["app"])
    result = await kubectl(cluster, version, "logs", "web", "-n", ns)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == LINES
    tail = await kubectl(cluster, version, "logs", "web", "-n", ns, "--tail=2", "-f")
    assert tail.stdout.splitlines() == LINES[-2:]
    path, query, client = kubelet.calls[-1]
    assert path == f"/containerLogs/{ns}/web/app"
    assert query == {"follow": "true", "tailLines": "2"}
    assert client == "kube-apiserver-kubelet-client"


async def test_several_containers_need_a_name(cluster: Cluster, kubelet: FakeKubelet) -> None:
    ns, _ = await asyncio.to_thread(setup_pod, cluster, kubelet.port, ["a", "b"])
    code = await kubectl(cluster, "1.33", "get", "--raw",
                         f"/api/v1/namespaces/{ns}/pods/web/log")
    assert code.returncode == 1
    assert "a container name must be specified for pod web, choose one of: [a b]" in code.stderr
    named = await kubectl(cluster, "1.33", "logs", "web", "-c", "b", "-n", ns)
    assert named.stdout.splitlines() == LINES
    assert kubelet.calls[-1][0] == f"/containerLogs/{ns}/web/b"


async def test_the_node_proxy_reaches_the_kubelet(cluster: Cluster, kubelet: FakeKubelet) -> None:
    _, node = await asyncio.to_thread(setup_pod, cluster, kubelet.port, ["app"])
    result = await kubectl(cluster, "1.33", "get", "--raw",
                           f"/api/v1/nodes/{node}/proxy/stats/summary?only_cpu_and_memory=true")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"node": {"nodeName": "fake"}}
    assert kubelet.calls[-1][:2] == ("/stats/summary", {"only_cpu_and_memory": "true"})
