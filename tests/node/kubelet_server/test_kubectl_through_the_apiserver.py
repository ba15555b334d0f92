"""The real kubectl against the real apiserver, which relays to this kubelet server: `kubectl
logs` (plain, --tail, --timestamps, -f) and `kubectl exec` reach a real container. The other
tests drive `proxy_to_kubelet` on its own through an `ExecFront` (pods/exec, attach and
portforward → proxy_to_kubelet; everything else relayed to the real apiserver), with kubectl
1.27 and 1.33 and the Python client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web
from apiserver_harness import KUBECTL_VERSIONS, APIServerProcess, Certs, Etcd, free_port
from kubelet_server_helpers import (
    NODE,
    LabelledPod,
    client_files,
    kubelet_server,
    remove_labelled_pod,
    start_labelled_pod,
)

from kubeadmpy.client import Client, load_kubeconfig
from kubeadmpy.client import errors as api_errors
from kubeadmpy.cri import CRIClient
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.kubelet.server import KubeletServer
from kubeadmpy.kubelet.server.proxy import proxy_to_kubelet


class WiredAPIServer(APIServerProcess):
    """The harness's apiserver, given the kubelet client pair as kubeadm configures it."""

    def args(self) -> list[str]:
        c = self.certs
        return [*super().args(),
                f"--kubelet-client-certificate={c.path('apiserver-kubelet-client.crt')}",
                f"--kubelet-client-key={c.path('apiserver-kubelet-client.key')}",
                "--kubelet-preferred-address-types=InternalIP"]


@dataclass
class Wired:
    apiserver: WiredAPIServer
    kubeconfig: Path
    workdir: Path


@pytest.fixture(scope="module")
def wired(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[Wired]:
    workdir = tmp_path_factory.mktemp("wired")
    etcd = Etcd(certs, workdir / "etcd-data")
    apiserver = WiredAPIServer(certs, etcd, workdir)
    try:
        etcd.start()
        apiserver.start()
        kubeconfig = workdir / "admin.conf"
        kubeconfig.write_text(certs.kubeconfig(apiserver.url))
        yield Wired(apiserver, kubeconfig, workdir)
    finally:
        apiserver.stop()
        etcd.stop()


@pytest.fixture
async def node(cri: CRIClient, certs: Certs, wired: Wired, tmp_path: Path
               ) -> AsyncIterator[KubeletServer]:
    """Our kubelet server, registered as node1's kubelet endpoint in the API."""
    async with kubelet_server(cri, certs, tmp_path) as server, \
            Client(load_kubeconfig(wired.kubeconfig)) as api:
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}}
        with contextlib.suppress(api_errors.AlreadyExists):
            await api.request("POST", "/api/v1/nodes", body=body)
        await api.request("PATCH", f"/api/v1/nodes/{NODE}/status", body={"status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": server.port}}}},
            content_type="application/merge-patch+json")
        yield server


async def api_pod(wired: Wired, name: str) -> None:
    async with Client(load_kubeconfig(wired.kubeconfig)) as api:
        for path, body in (
                ("/api/v1/namespaces/default/serviceaccounts",
                 {"metadata": {"name": "default"}}),
                ("/api/v1/namespaces/default/pods", {"metadata": {"name": name}, "spec": {
                    "nodeName": NODE, "automountServiceAccountToken": False,
                    "containers": [{"name": "main", "image": "busybox"}]}})):
            with contextlib.suppress(api_errors.AlreadyExists):
                await api.request("POST", path, body={"apiVersion": "v1", **body})


async def kubectl(wired: Wired, version: str, *args: str, stdin: bytes | None = None,
                  kubeconfig: Path | None = None) -> tuple[int, str, str]:
    """kubectl as a child process, so that this event loop keeps serving the kubelet API."""
    config = kubeconfig or wired.kubeconfig
    process = await asyncio.create_subprocess_exec(
        KUBECTL_VERSIONS[version], f"--kubeconfig={config}",
        f"--cache-dir={wired.workdir / ('cache-' + version + config.stem)}", *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "HOME": str(wired.workdir)})
    try:
        async with asyncio.timeout(60):
            out, err = await process.communicate(stdin)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def printed(cri: CRIClient, runtime: ScratchContainerd, wired: Wired,
                  node: KubeletServer) -> AsyncIterator[LabelledPod]:
    await api_pod(wired, "kl-printer")
    pod = await start_labelled_pod(cri, runtime, "kl-printer", [
        "sh", "-c", "echo first; echo second; sleep 3600"])
    try:
        yield pod
    finally:
        await remove_labelled_pod(cri, pod)


@pytest.mark.parametrize("version", sorted(KUBECTL_VERSIONS))
async def test_kubectl_logs_reads_the_container_log_through_the_apiserver(
        wired: Wired, printed: LabelledPod, version: str) -> None:
    for _ in range(100):  # the container prints right after it starts
        code, out, err = await kubectl(wired, version, "logs", "kl-printer")
        if out == "first\nsecond\n":
            break
        await asyncio.sleep(0.1)
    assert (code, out) == (0, "first\nsecond\n"), err
    code, out, err = await kubectl(wired, version, "logs", "kl-printer", "--tail=1")
    assert (code, out) == (0, "second\n"), err
    code, out, err = await kubectl(wired, version, "logs", "kl-printer", "--timestamps")
    assert code == 0, err
    assert re.fullmatch(r"(\S+Z first\n)(\S+Z second\n)", out), out


async def test_kubectl_logs_follow_streams_until_the_container_ends(
        wired: Wired, cri: CRIClient, runtime: ScratchContainerd, node: KubeletServer) -> None:
    await api_pod(wired, "kl-ticker")
    pod = await start_labelled_pod(cri, runtime, "kl-ticker", [
        "sh", "-c", "for i in 1 2 3; do echo tick $i; sleep 0.3; done"])
    try:
        code, out, err = await kubectl(wired, "1.33", "logs", "-f", "kl-ticker")
    finally:
        await remove_labelled_pod(cri, pod)
    assert (code, out) == (0, "tick 1\ntick 2\ntick 3\n"), err


@pytest.mark.parametrize("version", sorted(KUBECTL_VERSIONS))
async def test_kubectl_exec_runs_in_the_container_through_the_apiserver(
        wired: Wired, printed: LabelledPod, version: str) -> None:
    code, out, err = await kubectl(wired, version, "exec", "kl-printer", "--", "sh", "-c",
                                   "echo inside; exit 3")
    assert (code, out) == (3, "inside\n"), err
    assert "command terminated with exit code 3" in err


@pytest.fixture
async def exec_front(wired: Wired, certs: Certs, node: KubeletServer, tmp_path: Path
                     ) -> AsyncIterator[Path]:
    """A kubeconfig whose server is the ExecFront: pods/<name>/exec goes to proxy_to_kubelet
    exactly as the apiserver will call it; every other request is relayed to the apiserver."""
    admin = ssl.create_default_context(cafile=certs.path("ca.crt"))
    admin.load_cert_chain(*client_files(certs, "kubernetes-admin", ("system:masters",)))
    http = aiohttp.ClientSession()

    async def pod_exec(request: web.Request) -> web.StreamResponse:
        info = request.match_info
        query = request.rel_url.raw_query_string
        path = f"/exec/{info['ns']}/{info['pod']}/{request.query.get('container', 'main')}"
        return await proxy_to_kubelet(request, "127.0.0.1", node.port, f"{path}?{query}",
                                      certs.path("apiserver-kubelet-client.crt"),
                                      certs.path("apiserver-kubelet-client.key"))

    async def to_apiserver(request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items()
                   if k in ("Accept", "Content-Type", "User-Agent")}
        async with http.request(request.method, wired.apiserver.url + request.path_qs,
                                data=await request.read(), headers=headers,
                                ssl=admin) as answer:
            return web.Response(status=answer.status, body=await answer.read(), headers={
                k: v for k, v in answer.headers.items() if k == "Content-Type"})

    async def pod_port_forward(request: web.Request) -> web.StreamResponse:
        info = request.match_info
        path = f"/portForward/{info['ns']}/{info['pod']}?{request.rel_url.raw_query_string}"
        return await proxy_to_kubelet(request, "127.0.0.1", node.port, path,
                                      certs.path("apiserver-kubelet-client.crt"),
                                      certs.path("apiserver-kubelet-client.key"))

    async def pod_attach(request: web.Request) -> web.StreamResponse:
        info = request.match_info
        path = f"/attach/{info['ns']}/{info['pod']}/{request.query.get('container', 'main')}"
        return await proxy_to_kubelet(request, "127.0.0.1", node.port,
                                      f"{path}?{request.rel_url.raw_query_string}",
                                      certs.path("apiserver-kubelet-client.crt"),
                                      certs.path("apiserver-kubelet-client.key"))

    app = web.Application()
    app.router.add_route("*", "/api/v1/namespaces/{ns}/pods/{pod}/exec", pod_exec)
    app.router.add_route("*", "/api/v1/namespaces/{ns}/pods/{pod}/attach", pod_attach)
    app.router.add_route("*", "/api/v1/namespaces/{ns}/pods/{pod}/portforward",
                         pod_port_forward)
    app.router.add_route("*", "/{tail:.*}", to_apiserver)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    kubeconfig = tmp_path / "front.conf"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "front",
        "clusters": [{"name": "front", "cluster": {
            "server": f"http://127.0.0.1:{runner.addresses[0][1]}"}}],
        "users": [{"name": "front", "user": {}}],
        "contexts": [{"name": "front", "context": {"cluster": "front", "user": "front"}}]}))
    try:
        yield kubeconfig
    finally:
        await runner.cleanup()
        await http.close()


@pytest.fixture(params=["front", "apiserver"],
                ids=["through proxy_to_kubelet alone", "through the apiserver"])
def route(request: pytest.FixtureRequest, wired: Wired, exec_front: Path) -> Path:
    """The kubeconfig of one way to the kubelet: the ExecFront, or the apiserver itself."""
    return exec_front if request.param == "front" else wired.kubeconfig


@pytest.mark.parametrize("version", sorted(KUBECTL_VERSIONS))
async def test_kubectl_exec_reaches_the_container_through_proxy_to_kubelet(
        wired: Wired, printed: LabelledPod, exec_front: Path, version: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "kubeadmpy.kubelet.server.streams")
    code, out, err = await kubectl(wired, version, "exec", "kl-printer", "--", "sh", "-c",
                                   "echo inside; echo oops >&2; exit 3", kubeconfig=exec_front)
    transport = {"1.27": "over SPDY/3.1 v4.channel.k8s.io",
                 "1.33": "over websocket v5.channel.k8s.io"}[version]
    assert any(transport in record.getMessage() for record in caplog.records), caplog.text
    assert (code, out) == (3, "inside\n"), err
    assert "oops" in err
    assert "command terminated with exit code 3" in err
    code, out, err = await kubectl(wired, version, "exec", "-i", "kl-printer", "--", "wc", "-c",
                                   stdin=b"twelve bytes", kubeconfig=exec_front)
    assert (code, out.strip()) == (0, "12"), err


@pytest.mark.parametrize("version", sorted(KUBECTL_VERSIONS))
async def test_kubectl_port_forward_reaches_the_pod_through_proxy_to_kubelet(
        wired: Wired, cri: CRIClient, runtime: ScratchContainerd, route: Path,
        version: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "kubeadmpy.kubelet.server")
    name = f"kl-web-{version.replace('.', '')}"
    await api_pod(wired, name)
    await mark_running(wired, name)
    pod = await start_labelled_pod(cri, runtime, name, [
        "sh", "-c", "mkdir /www && echo served-by-the-pod > /www/index.html && "
                    "exec httpd -f -p 8080 -h /www"])
    local = free_port()
    process = await asyncio.create_subprocess_exec(
        KUBECTL_VERSIONS[version], f"--kubeconfig={route}", "port-forward", name,
        f"{local}:8080", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "HOME": str(wired.workdir)})
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            first = await process.stdout.readline()
        if b"Forwarding from 127.0.0.1:" not in first:
            assert process.stderr is not None
            raise AssertionError((await process.stderr.read()).decode())
        bodies = []
        for _ in range(2):  # two connections over the one forwarded session
            async with aiohttp.ClientSession() as session:
                for _ in range(50):  # httpd may still be starting
                    try:
                        async with session.get(f"http://127.0.0.1:{local}/") as response:
                            bodies.append(await response.text())
                            break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.1)
        assert bodies == ["served-by-the-pod\n"] * 2
        transport = {"1.27": "port-forward over SPDY/3.1",
                     "1.33": "port-forward over websocket SPDY/3.1+portforward.k8s.io"}[version]
        assert any(transport in r.getMessage() for r in caplog.records), caplog.text
    finally:
        process.terminate()
        await process.wait()
        await remove_labelled_pod(cri, pod)


def python_client_exec(kubeconfig: Path, pod: str, command: list[str]) -> tuple[str, str, int]:
    """The official Python client's exec (WebSocket, v5/v4 channels), as a script would run it."""
    from kubernetes import client, config
    from kubernetes.stream import stream

    api = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    session = stream(api.connect_get_namespaced_pod_exec, pod, "default", command=command,
                     stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    session.run_forever(timeout=30)
    out, err = session.read_stdout(), session.read_stderr()
    code = session.returncode
    session.close()
    return out, err, int(code)


async def test_the_python_client_execs_through_proxy_to_kubelet(
        wired: Wired, printed: LabelledPod, route: Path) -> None:
    out, err, code = await asyncio.to_thread(
        python_client_exec, route, "kl-printer",
        ["sh", "-c", "echo from-python; echo to-stderr >&2; exit 4"])
    assert (out, err, code) == ("from-python\n", "to-stderr\n", 4)


def python_client_port_forward(kubeconfig: Path, pod: str, port: int) -> bytes:
    """One HTTP request through the Python client's port-forward (WebSocket channels)."""
    from kubernetes import client, config
    from kubernetes.stream import portforward

    api = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    forward = portforward(api.connect_get_namespaced_pod_portforward, pod, "default",
                          ports=str(port))
    connection = forward.socket(port)
    connection.settimeout(30)
    connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
    answer = b""
    while chunk := connection.recv(65536):
        answer += chunk
    connection.close()
    forward.close()
    return answer


async def test_the_python_client_port_forwards_through_proxy_to_kubelet(
        wired: Wired, cri: CRIClient, runtime: ScratchContainerd, route: Path) -> None:
    await api_pod(wired, "kl-pyweb")
    pod = await start_labelled_pod(cri, runtime, "kl-pyweb", [
        "sh", "-c", "mkdir /www && echo python-forwarded > /www/index.html && "
                    "exec httpd -f -p 8080 -h /www"])
    try:
        for _ in range(100):
            done = await cri.exec_sync(pod.container_id, ["sh", "-c", "netstat -ltn | grep -q :8080"], 5)
            if done.exit_code == 0:
                break
            await asyncio.sleep(0.05)
        answer = await asyncio.to_thread(python_client_port_forward, route, "kl-pyweb",
                                         8080)
    finally:
        await remove_labelled_pod(cri, pod)
    assert answer.startswith(b"HTTP/1.")
    assert answer.endswith(b"python-forwarded\n")


@pytest.mark.parametrize("version", sorted(KUBECTL_VERSIONS))
async def test_kubectl_exec_moves_megabytes_both_ways(
        wired: Wired, printed: LabelledPod, route: Path, version: str) -> None:
    size = 3 * 1024 * 1024
    code, out, err = await kubectl(wired, version, "exec", "-i", "kl-printer", "--", "wc", "-c",
                                   stdin=b"x" * size, kubeconfig=route)
    assert (code, out.strip()) == (0, str(size)), err
    code, out, err = await kubectl(wired, version, "exec", "kl-printer", "--", "sh", "-c",
                                   f"head -c {size} /dev/zero | tr '\\0' y",
                                   kubeconfig=route)
    assert (code, len(out), set(out)) == (0, size, {"y"}), err


async def mark_running(wired: Wired, name: str) -> None:
    """kubectl attach and port-forward refuse pods whose phase is not Running."""
    async with Client(load_kubeconfig(wired.kubeconfig)) as api:
        await api.request("PATCH", f"/api/v1/namespaces/default/pods/{name}/status",
                          body={"status": {"phase": "Running"}},
                          content_type="application/merge-patch+json")


@pytest.mark.parametrize("version", sorted(KUBECTL_VERSIONS))
async def test_kubectl_attach_streams_the_main_process_output(
        wired: Wired, cri: CRIClient, runtime: ScratchContainerd, route: Path,
        version: str) -> None:
    name = f"kl-attach-{version.replace('.', '')}"
    await api_pod(wired, name)
    await mark_running(wired, name)
    pod = await start_labelled_pod(cri, runtime, name, [
        "sh", "-c", "sleep 2; echo attached-output; sleep 1"])
    try:
        code, out, err = await kubectl(wired, version, "attach", name, kubeconfig=route)
    finally:
        await remove_labelled_pod(cri, pod)
    assert "attached-output\n" in out, (code, err)


def run_in_terminal(argv: list[str], env: dict[str, str], rows: int, cols: int) -> str:
    """Run `argv` with a pseudo-terminal of rows x cols as its stdin/stdout/stderr."""
    import fcntl
    import pty
    import struct
    import subprocess
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                               start_new_session=True)
    os.close(slave)
    output = b""
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                break
            if not chunk:
                break
            output += chunk
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return output.decode(errors="replace")


# kubectl sends the terminal size just after the session starts: ask until it has arrived
WAIT_FOR_SIZE = ("tty; for i in $(seq 100); do s=$(stty size 2>/dev/null); "
                 "[ -n \"$s\" ] && [ \"$s\" != \"0 0\" ] && break; sleep 0.1; done; echo \"$s\"")


@pytest.mark.parametrize("version", sorted(KUBECTL_VERSIONS))
async def test_kubectl_exec_it_gets_a_terminal_of_the_callers_size(
        wired: Wired, printed: LabelledPod, route: Path, version: str) -> None:
    argv = [KUBECTL_VERSIONS[version], f"--kubeconfig={route}", "exec", "-it",
            "kl-printer", "--", "sh", "-c", WAIT_FOR_SIZE]
    output = await asyncio.to_thread(run_in_terminal, argv,
                                     {**os.environ, "HOME": str(wired.workdir)}, 33, 101)
    assert "/dev/pts/" in output, output
    assert "33 101" in output, output
