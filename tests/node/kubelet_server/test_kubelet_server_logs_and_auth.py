"""The kubelet API on real containers: containerLogs as kubectl logs shows them, healthz, and
who may ask (client certificates of the cluster CA, SubjectAccessReview by the real apiserver)."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from apiserver_harness import Certs, Cluster
from kubelet_server_helpers import (
    LabelledPod,
    client_context,
    kubelet_server,
    remove_labelled_pod,
    restart_container,
    start_labelled_pod,
    wait_exited,
)

from kubeadmpy.cri import CRIClient
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.errors import ConfigError
from kubeadmpy.kubelet.server import AuthSettings, CRIPodLookup, KubeletServer, ServerSettings
from kubeadmpy.kubelet.server.server import KubeletServerError

ADMIN = ("kube-apiserver-kubelet-client", ("system:masters",))
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z"


@pytest.fixture
async def reviewed_server(cri: CRIClient, certs: Certs, cluster: Cluster, tmp_path: Path
                          ) -> AsyncIterator[KubeletServer]:
    """Authorization by SubjectAccessReview to the real apiserver (xfail while it has none)."""
    async with aiohttp.ClientSession() as session, session.get(
            f"{cluster.apiserver.url}/apis/authorization.k8s.io/v1",
            ssl=cluster.ssl_context()) as response:
        served = {r.get("name") for r in (await response.json()).get("resources", [])} \
            if response.status == 200 else set()
    if "subjectaccessreviews" not in served:
        pytest.xfail("kubeadmpy-apiserver does not serve authorization.k8s.io/v1 "
                     "subjectaccessreviews (SubjectAccessReview), which the kubelet's "
                     "Webhook authorization and TokenReview path need")
    async with kubelet_server(cri, certs, tmp_path, cluster) as running:
        yield running


@pytest.fixture
async def printer(cri: CRIClient, runtime: ScratchContainerd) -> AsyncIterator[LabelledPod]:
    """A pod that printed five lines (one on stderr, one longer than the runtime's 16 KiB
    line limit) and exited."""
    # stdout and stderr reach the log through two pipes: pauses keep the order stable
    script = "for i in 1 2 3; do echo line $i; done; sleep 0.3; echo oops >&2; sleep 0.3; " \
             "echo $(head -c 20000 /dev/zero | tr '\\0' x); echo last"
    pod = await start_labelled_pod(cri, runtime, "printer", ["sh", "-c", script])
    try:
        await wait_exited(cri, pod.container_id)
        yield pod
    finally:
        await remove_labelled_pod(cri, pod)


async def get(server: KubeletServer, path: str, context: ssl.SSLContext,
              headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(
            f"https://127.0.0.1:{server.port}{path}", ssl=context,
            headers=headers or {}) as response:
        return response.status, await response.text()


LONG = "x" * 20000
LOG_CASES = [
    pytest.param("", ["line 1", "line 2", "line 3", "oops", LONG, "last"],
                 id="plain logs join the runtime's partial records back into lines"),
    pytest.param("?tailLines=2", [LONG, "last"], id="tailLines keeps the last lines"),
    pytest.param("?tailLines=0", [], id="tailLines=0 sends nothing"),
    pytest.param("?limitBytes=10", ["line 1", "lin"], id="limitBytes cuts the output"),
]


@pytest.mark.parametrize(("query", "lines"), LOG_CASES)
async def test_container_logs_read_the_cri_log_file(
        server: KubeletServer, certs: Certs, printer: LabelledPod, query: str,
        lines: list[str]) -> None:
    status, text = await get(server, f"/containerLogs/default/printer/main{query}",
                             client_context(certs, *ADMIN))
    assert status == 200, text
    expected = "".join(f"{line}\n" for line in lines)
    assert text == (expected if "limitBytes" not in query else expected[:10])


async def test_timestamps_prefix_every_line_with_the_runtime_time(
        server: KubeletServer, certs: Certs, printer: LabelledPod) -> None:
    status, text = await get(server, "/containerLogs/default/printer/main?timestamps=true",
                             client_context(certs, *ADMIN))
    assert status == 200
    lines = text.splitlines()
    assert len(lines) == 6
    assert all(re.match(f"^{STAMP} ", line) for line in lines), lines[:2]
    assert lines[0].split(" ", 1)[1] == "line 1"


async def test_follow_streams_lines_as_they_are_written_and_ends_with_the_container(
        server: KubeletServer, certs: Certs, cri: CRIClient,
        runtime: ScratchContainerd) -> None:
    pod = await start_labelled_pod(cri, runtime, "ticker", [
        "sh", "-c", "for i in 1 2 3 4; do echo tick $i; sleep 0.5; done"])
    try:
        received: list[str] = []
        async with aiohttp.ClientSession() as session, session.get(
                f"https://127.0.0.1:{server.port}/containerLogs/default/ticker/main?follow=true",
                ssl=client_context(certs, *ADMIN)) as response:
            assert response.status == 200
            async for raw in response.content:
                received.append(raw.decode())
                if len(received) == 1:  # the first line came before the container ended
                    state = (await cri.container_status(pod.container_id)).status.state
                    assert state == 1  # CONTAINER_RUNNING
        assert received == [f"tick {i}\n" for i in (1, 2, 3, 4)]
    finally:
        await remove_labelled_pod(cri, pod)


async def test_unknown_pods_and_containers_are_not_found(
        server: KubeletServer, certs: Certs, printer: LabelledPod) -> None:
    context = client_context(certs, *ADMIN)
    assert (await get(server, "/containerLogs/default/nosuchpod/main", context))[0] == 404
    assert (await get(server, "/containerLogs/default/printer/nosuch", context))[0] == 404


async def test_a_client_without_a_certificate_or_token_gets_401(
        server: KubeletServer, certs: Certs, printer: LabelledPod) -> None:
    status, text = await get(server, "/containerLogs/default/printer/main",
                             client_context(certs, None))
    assert (status, text) == (401, "Unauthorized")


async def test_a_bearer_token_the_api_does_not_know_gets_401(
        reviewed_server: KubeletServer, certs: Certs, printer: LabelledPod) -> None:
    status, _ = await get(reviewed_server, "/containerLogs/default/printer/main",
                          client_context(certs, None), {"Authorization": "Bearer nonsense"})
    assert status == 401


async def test_a_certificate_without_rights_on_the_node_gets_403_from_the_review(
        reviewed_server: KubeletServer, certs: Certs, printer: LabelledPod) -> None:
    status, text = await get(reviewed_server, "/containerLogs/default/printer/main",
                             client_context(certs, "jane", ("developers",)))
    assert status == 403
    assert text.strip() == ("Forbidden (user=jane, verb=get, resource=nodes, "
                            "subresource(s)=[proxy])")


async def test_a_certificate_with_rights_on_the_node_is_allowed_by_the_review(
        reviewed_server: KubeletServer, certs: Certs, printer: LabelledPod) -> None:
    status, text = await get(reviewed_server, "/containerLogs/default/printer/main?tailLines=1",
                             client_context(certs, *ADMIN))
    assert (status, text) == (200, "last\n")


async def test_healthz_answers_on_both_ports(server: KubeletServer, certs: Certs) -> None:
    status, text = await get(server, "/healthz", client_context(certs, *ADMIN))
    assert (status, text) == (200, "ok")
    status, text = await get(server, "/pods", client_context(certs, *ADMIN))
    assert (status, json.loads(text)) == (200, {"kind": "PodList", "apiVersion": "v1",
                                                "metadata": {}, "items": []})
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{server.healthz_port}/healthz") as response:
        assert (response.status, await response.text()) == (200, "ok")


async def test_the_serving_certificate_is_made_once_and_reused(
        cri: CRIClient, certs: Certs, tmp_path: Path) -> None:
    async with kubelet_server(cri, certs, tmp_path):
        first = (tmp_path / "kubelet.crt").read_bytes()
    async with kubelet_server(cri, certs, tmp_path):
        assert (tmp_path / "kubelet.crt").read_bytes() == first
    assert oct((tmp_path / "kubelet.key").stat().st_mode & 0o777) == "0o600"


async def test_many_quick_requests_do_not_leak_connections(
        server: KubeletServer, certs: Certs) -> None:
    context = client_context(certs, *ADMIN)
    results = await asyncio.gather(*(get(server, "/healthz", context) for _ in range(20)))
    assert {status for status, _ in results} == {200}


async def test_previous_reads_the_instance_before_the_current_one(
        server: KubeletServer, certs: Certs, cri: CRIClient,
        runtime: ScratchContainerd) -> None:
    pod = await start_labelled_pod(cri, runtime, "restarted", ["sh", "-c", "echo first life"])
    try:
        context = client_context(certs, *ADMIN)
        await wait_exited(cri, pod.container_id)
        status, text = await get(server, "/containerLogs/default/restarted/main?previous=true",
                                 context)
        assert status == 400
        assert text == 'previous terminated container "main" in pod "restarted" not found'
        await restart_container(cri, pod, ["sh", "-c", "echo second life"])
        await wait_exited(cri, pod.container_id)
        assert await get(server, "/containerLogs/default/restarted/main", context) == \
            (200, "second life\n")
        assert await get(server, "/containerLogs/default/restarted/main?previous=1",
                         context) == (200, "first life\n")
    finally:
        await remove_labelled_pod(cri, pod)


async def test_a_service_account_token_is_authenticated_by_token_review(
        reviewed_server: KubeletServer, certs: Certs, cluster: Cluster,
        printer: LabelledPod) -> None:
    """A real token (TokenRequest) passes authentication; the review then says who it is and
    SubjectAccessReview refuses that service account: 403 naming it, not 401."""
    async with aiohttp.ClientSession() as session:
        base = f"{cluster.apiserver.url}/api/v1/namespaces/default/serviceaccounts"
        await session.post(base, json={"apiVersion": "v1", "kind": "ServiceAccount",
                                       "metadata": {"name": "log-reader"}},
                           ssl=cluster.ssl_context())
        async with session.post(f"{base}/log-reader/token", json={
                "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"audiences": []}}, ssl=cluster.ssl_context()) as answer:
            body = await answer.json()
            assert answer.status == 201, body
    token = body["status"]["token"]
    status, text = await get(reviewed_server, "/containerLogs/default/printer/main",
                             client_context(certs, None), {"Authorization": f"Bearer {token}"})
    assert status == 403
    assert text.startswith("Forbidden (user=system:serviceaccount:default:log-reader, verb=get")


async def test_anonymous_requests_pass_only_when_the_config_enables_them(
        cri: CRIClient, certs: Certs, tmp_path: Path, printer: LabelledPod) -> None:
    async with kubelet_server(cri, certs, tmp_path, anonymous=True) as open_server:
        status, text = await get(open_server, "/containerLogs/default/printer/main?tailLines=1",
                                 client_context(certs, None))
    assert (status, text) == (200, "last\n")


async def test_a_taken_port_is_a_clear_error(cri: CRIClient, certs: Certs,
                                             tmp_path: Path) -> None:
    async with kubelet_server(cri, certs, tmp_path / "first") as first:
        taken = ServerSettings(node_name="node1", address="127.0.0.1", port=first.port,
                               healthz_port=-1, cert_dir=str(tmp_path / "second"))
        with pytest.raises(KubeletServerError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            await KubeletServer(taken, CRIPodLookup(cri), cri).start()


@pytest.mark.parametrize(("field", "settings"), [
    pytest.param("tlsCertFile", {"tls_cert_file": "/nonexistent.crt",
                                 "tls_private_key_file": "/nonexistent.key"},
                 id="a serving certificate that does not exist"),
    pytest.param("authentication.x509.clientCAFile",
                 {"auth": AuthSettings(client_ca_file="/nonexistent-ca.crt")},
                 id="a client CA that does not exist"),
])
async def test_unusable_files_name_their_config_field(
        cri: CRIClient, tmp_path: Path, field: str, settings: dict[str, Any]) -> None:
    server = KubeletServer(ServerSettings(node_name="node1", address="127.0.0.1", port=0,
                                          healthz_port=-1, cert_dir=str(tmp_path), **settings),
                           CRIPodLookup(cri), cri)
    with pytest.raises(ConfigError, match=f"KubeletConfiguration.{field}: '/nonexistent"):
        await server.start()
