"""Benchmark the kubelet API against the runtime it fronts, in one run, on this machine.

Prints, each next to a reference measured in the same run:
  * exec of `true` through the kubelet (HTTPS + client cert, WebSocket v5 or SPDY/3.1, CRI Exec,
    SPDY to containerd's streaming server) vs CRI ExecSync straight to containerd (the floor);
  * containerLogs of a 20,000-line log vs parsing the same CRI file in-process (read_log);
  * one httpGet probe attempt vs a bare aiohttp GET of the same URL.

Usage: python benchmarks/bench_kubelet_server.py [--runs 30]
Everything runs in a scratch containerd and on loopback; all of it is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ssl
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import yaml

from kubeadmpy import pki
from kubeadmpy.cri import CRIClient, api, read_log
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.images import busybox_reference
from kubeadmpy.kubelet.probes import checks
from kubeadmpy.kubelet.server import (
    AuthSettings,
    CRIPodLookup,
    KubeletServer,
    ServerSettings,
    spdy_client,
)


async def timed(runs: int, action: Callable[[], Awaitable[object]]) -> list[float]:
    await action()  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - start)
    return samples


def line(name: str, samples: list[float], reference: list[float] | None = None) -> str:
    p50 = statistics.median(samples) * 1000
    p99 = sorted(samples)[max(0, int(len(samples) * 0.99) - 1)] * 1000
    text = f"{name:<46} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms"
    if reference:
        text += f"  x{statistics.median(samples) / statistics.median(reference):6.2f} of ref"
    return text


def client_tls(directory: Path, settings: pki.PKISettings) -> ssl.SSLContext:
    kubeconfig = yaml.safe_load(pki.kubeconfig_for_user(
        "bench", ["system:masters"], settings, directory, server="https://127.0.0.1:1"))
    user = kubeconfig["users"][0]["user"]
    (directory / "bench.crt").write_bytes(base64.b64decode(user["client-certificate-data"]))
    (directory / "bench.key").write_bytes(base64.b64decode(user["client-key-data"]))
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(directory / "bench.crt", directory / "bench.key")
    return context


async def start_pod(cri: CRIClient, runtime: ScratchContainerd, name: str,
                    command: list[str]) -> tuple[str, str, str]:
    uid = str(uuid.uuid4())
    labels = {"io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.name": name}
    config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=name, uid=uid, namespace="default"),
        hostname=name, labels=labels, linux=api.LinuxPodSandboxConfig(),
        log_directory=str(runtime.pod_log_dir / uid))
    sandbox = await cri.run_pod_sandbox(config)
    await runtime.remember_netns(cri, sandbox)
    container = await cri.create_container(sandbox, api.ContainerConfig(
        metadata=api.ContainerMetadata(name="main"), image=api.ImageSpec(
            image=busybox_reference()), command=command, log_path="main/0.log"), config)
    await cri.start_container(container)
    ip = (await cri.pod_sandbox_status(sandbox)).status.network.ip
    return container, ip, str(runtime.pod_log_dir / uid / "main" / "0.log")


async def main(runs: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-kubelet-"))
    runtime = ScratchContainerd(base / "containerd")
    try:
        await runtime.start()
        settings = pki.PKISettings(node_name="node1", advertise_address="127.0.0.1")
        pki.ensure_certs(settings, base / "pki")
        tls = client_tls(base / "pki", settings)
        async with CRIClient(runtime.endpoint) as cri:
            shell, _, _ = await start_pod(cri, runtime, "shell", ["sleep", "3600"])
            _, web_ip, _ = await start_pod(cri, runtime, "web", [
                "sh", "-c", "mkdir /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www"])
            _, _, log_file = await start_pod(cri, runtime, "printer", [
                "sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done"])
            server = KubeletServer(ServerSettings(
                node_name="node1", address="127.0.0.1", port=0, healthz_port=-1,
                cert_dir=str(base / "kubelet-pki"),
                auth=AuthSettings(client_ca_file=str(base / "pki" / "ca.crt"),
                                  mode="AlwaysAllow")), CRIPodLookup(cri), cri)
            await server.start()
            await asyncio.sleep(2)  # the printer finishes, httpd listens
            url = f"https://127.0.0.1:{server.port}"
            try:
                async with aiohttp.ClientSession() as http:
                    async def exec_sync() -> None:
                        await cri.exec_sync(shell, ["true"], 10)

                    async def exec_websocket() -> None:
                        async with http.ws_connect(
                                f"{url}/exec/default/shell/main?command=true&output=1&error=1",
                                protocols=("v5.channel.k8s.io",), ssl=tls) as socket:
                            async for _ in socket:
                                pass

                    async def exec_spdy() -> None:
                        session = await spdy_client.connect(
                            f"{url}/exec/default/shell/main?command=true&output=1&error=1",
                            ["error", "stdout", "stderr"], ssl_context=tls)
                        while await session.streams["error"].read() is not None:
                            pass
                        await session.close()

                    async def logs_direct() -> None:
                        read_log(await asyncio.to_thread(Path(log_file).read_text))

                    async def logs_kubelet() -> None:
                        async with http.get(f"{url}/containerLogs/default/printer/main",
                                            ssl=tls) as response:
                            await response.read()

                    async def bare_get() -> None:
                        async with aiohttp.ClientSession() as own, own.get(
                                f"http://{web_ip}:8080/healthz") as response:
                            await response.read()

                    async def probe() -> None:
                        await checks.http_probe({"path": "/healthz", "port": 8080}, {}, web_ip, 5)

                    floor = await timed(runs, exec_sync)
                    print(line("exec: CRI ExecSync (reference)", floor))
                    print(line("exec: kubelet, WebSocket v5", await timed(runs, exec_websocket),
                               floor))
                    print(line("exec: kubelet, SPDY/3.1", await timed(runs, exec_spdy), floor))
                    direct = await timed(max(5, runs // 5), logs_direct)
                    print(line("logs 20k lines: read_log in-process (ref)", direct))
                    print(line("logs 20k lines: kubelet containerLogs",
                               await timed(max(5, runs // 5), logs_kubelet), direct))
                    bare = await timed(runs, bare_get)
                    print(line("http: bare aiohttp GET (reference)", bare))
                    print(line("http: httpGet probe attempt", await timed(runs, probe), bare))
            finally:
                await server.close()
    finally:
        problems = await runtime.close()
        if problems:
            print("clean-up problems:", problems)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    asyncio.run(main(parser.parse_args().runs))
