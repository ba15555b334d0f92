"""Benchmark the probe manager: kubelet CPU per probe attempt with 30 pods on the node.

30 pods, each with an httpGet readiness probe and a tcpSocket liveness probe (period 1 s),
aimed at busybox httpd in one real pod of a scratch containerd, run for a fixed number of
seconds. Prints attempts/s and this process's CPU per attempt, next to the reference measured
in the same run: the same number of bare HTTP GETs and TCP connects issued in a loop (what a
probe cannot be cheaper than). Also prints the exec probe (CRI ExecSync) latency for scale.

Usage: python benchmarks/bench_probes.py [--pods 30] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from kubeadmpy.cri import CRIClient, api
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.images import busybox_reference
from kubeadmpy.kubelet.probes import ProbeManager, run_probe


async def web_pod(cri: CRIClient, runtime: ScratchContainerd) -> tuple[str, str]:
    uid = str(uuid.uuid4())
    config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name="web", uid=uid, namespace="default"),
        hostname="web", linux=api.LinuxPodSandboxConfig(),
        log_directory=str(runtime.pod_log_dir / uid))
    sandbox = await cri.run_pod_sandbox(config)
    await runtime.remember_netns(cri, sandbox)
    container = await cri.create_container(sandbox, api.ContainerConfig(
        metadata=api.ContainerMetadata(name="web"), image=api.ImageSpec(
            image=busybox_reference()), log_path="web/0.log", command=[
            "sh", "-c", "mkdir /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www"]),
        config)
    await cri.start_container(container)
    ip = (await cri.pod_sandbox_status(sandbox)).status.network.ip
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection(ip, 8080)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    return container, ip


async def managed(cri: CRIClient, ip: str, container: str, pods: int,
                  seconds: float) -> tuple[int, float]:
    manager = ProbeManager(cri)
    runner = asyncio.ensure_future(manager.run())
    await asyncio.sleep(0)
    spec = {"name": "web", "ports": [{"name": "http", "containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                               "periodSeconds": 1},
            "livenessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}
    start_cpu, start = time.process_time(), time.monotonic()
    for index in range(pods):
        manager.add_pod({"metadata": {"uid": f"pod-{index}", "name": f"p{index}",
                                      "namespace": "default"},
                         "spec": {"containers": [spec]}}, {"web": container}, ip)
    await asyncio.sleep(seconds)
    cpu, elapsed = time.process_time() - start_cpu, time.monotonic() - start
    ready = sum(manager.is_ready(f"pod-{i}", "web") for i in range(pods))
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    # one http + one tcp attempt per pod per period (1 s): an estimate, not a count
    attempts = int(2 * pods * elapsed)
    print(f"managed: {pods} pods x 2 probes for {elapsed:.1f} s: ~{attempts} attempts, "
          f"{ready}/{pods} pods ready")
    return attempts, cpu


async def bare(ip: str, attempts: int) -> float:
    start_cpu = time.process_time()
    for index in range(attempts):
        if index % 2 == 0:
            async with aiohttp.ClientSession() as session, session.get(
                    f"http://{ip}:8080/healthz") as response:
                await response.read()
        else:
            _, writer = await asyncio.open_connection(ip, 8080)
            writer.close()
            await writer.wait_closed()
    return time.process_time() - start_cpu


async def main(pods: int, seconds: float) -> None:
    runtime = ScratchContainerd(Path(tempfile.mkdtemp(prefix="bench-probes-")))
    try:
        await runtime.start()
        async with CRIClient(runtime.endpoint) as cri:
            container, ip = await web_pod(cri, runtime)
            attempts, cpu = await managed(cri, ip, container, pods, seconds)
            reference = await bare(ip, attempts)
            per, ref = cpu / attempts * 1e6, reference / attempts * 1e6
            print(f"CPU per attempt: probe manager {per:7.1f} µs, bare GET/connect "
                  f"{ref:7.1f} µs (reference), ratio x{per / ref:.2f}")
            print(f"probe CPU share of one core at {pods} pods: "
                  f"{cpu / seconds * 100:.1f} %")
            exec_times = []
            for _ in range(20):
                start = time.perf_counter()
                await run_probe(cri, {"exec": {"command": ["true"]}}, {}, container, ip)
                exec_times.append(time.perf_counter() - start)
            print(f"exec probe (CRI ExecSync of true): p50 "
                  f"{statistics.median(exec_times) * 1000:.1f} ms")
    finally:
        problems = await runtime.close()
        if problems:
            print("clean-up problems:", problems)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.pods, arguments.seconds))
