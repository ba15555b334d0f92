"""Pod start-up latency through kubeadmpy-kubelet against the raw CRI floor, in the same run.

Set-up: a private containerd (kubeadmpy.cri.scratch), a real etcd + kubeadmpy-apiserver (the
integration tests' harness) and kubeadmpy-kubelet as its own process (so its resident memory
can be read). Measured:

- floor: for N pods (default 30) RunPodSandbox + CreateContainer + StartContainer through
  kubeadmpy.cri, all N requested at once (what a kubelet with per-pod workers does), per-pod
  latency p50/p99;
- kubelet: N pods created already bound to the node; latency = from just before the create
  request to the watch event showing every container running; p50/p99 and the ratio to the
  floor;
- the kubelet's resident memory (VmRSS) with the N pods running.

    python benchmarks/bench_kubelet.py [--pods 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"
                       / "apiserver"))

from apiserver_harness import make_certs, start_cluster, stop_cluster

from kubeadmpy.client import Client, load_kubeconfig
from kubeadmpy.cri import CRIClient, api
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.images import busybox_reference


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


async def floor_one(client: CRIClient, runtime: ScratchContainerd, name: str) -> float:
    uid = str(uuid.uuid4())
    config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=name, uid=uid, namespace="floor"),
        hostname=name, log_directory=str(runtime.pod_log_dir / uid),
        labels={"bench": "floor"}, linux=api.LinuxPodSandboxConfig())
    container = api.ContainerConfig(
        metadata=api.ContainerMetadata(name="main"),
        image=api.ImageSpec(image=busybox_reference()), command=["sleep", "3600"],
        log_path="main/0.log")
    started = time.perf_counter()
    sandbox = await client.run_pod_sandbox(config)
    container_id = await client.create_container(sandbox, container, config)
    await client.start_container(container_id)
    elapsed = time.perf_counter() - started
    await runtime.remember_netns(client, sandbox)
    return elapsed


async def floor(runtime: ScratchContainerd, count: int) -> list[float]:
    async with CRIClient(runtime.endpoint) as client:
        samples = await asyncio.gather(*(floor_one(client, runtime, f"floor-{n}")
                                         for n in range(count)))
    await runtime.remove_all_pods()
    return list(samples)


def write_kubelet_files(workdir: Path, runtime: ScratchContainerd) -> Path:
    config = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
              "staticPodPath": str(workdir / "manifests"), "cgroupDriver": "cgroupfs",
              "clusterDNS": ["10.96.0.10"], "clusterDomain": "cluster.local",
              "podLogsDir": str(runtime.pod_log_dir), "port": 0, "healthzPort": 0,
              "address": "127.0.0.1", "resolvConf": str(workdir / "resolv.conf"),
              "containerRuntimeEndpoint": runtime.endpoint}
    (workdir / "manifests").mkdir(exist_ok=True)
    (workdir / "resolv.conf").write_text("nameserver 127.0.0.53\n")
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def start_kubelet(workdir: Path, config: Path, kubeconfig: Path,
                  node: str) -> subprocess.Popen[bytes]:
    """kubeadmpy-kubelet as its own process (its memory is what we read)."""
    with (workdir / "kubelet.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "kubeadmpy.kubelet.main", f"--config={config}",
             f"--kubeconfig={kubeconfig}", f"--hostname-override={node}",
             "--node-ip=127.0.0.1", f"--root-dir={workdir / 'kubelet'}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def kubelet_latencies(client: Client, node: str, count: int) -> list[float]:
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    await client.create("namespaces", {"metadata": {"name": namespace}})
    created_at: dict[str, float] = {}
    running_at: dict[str, float] = {}
    listed = await client.list("pods", namespace)

    async def watch() -> None:
        async with client.watch("pods", namespace, resource_version=listed.resource_version
                                ) as events:
            async for event in events:
                pod = event.object
                statuses = (pod.get("status") or {}).get("containerStatuses") or []
                name = pod["metadata"]["name"]
                if statuses and all("running" in s.get("state", {}) for s in statuses) and \
                        name not in running_at:
                    running_at[name] = time.perf_counter()
                    if len(running_at) == count:
                        return

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.2)

    async def create(number: int) -> None:
        name = f"pod-{number}"
        body = {"metadata": {"name": name}, "spec": {
            "nodeName": node, "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": busybox_reference(),
                            "command": ["sleep", "3600"]}]}}
        created_at[name] = time.perf_counter()
        await client.create("pods", body, namespace)
    await asyncio.gather(*(create(n) for n in range(count)))
    await asyncio.wait_for(watcher, 300)
    return [running_at[name] - created_at[name] for name in created_at]


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-kubelet-") as temporary:
        workdir = Path(temporary)
        runtime = ScratchContainerd(workdir / "containerd")
        cluster = None
        kubelet: subprocess.Popen[bytes] | None = None
        try:
            await runtime.start()
            (workdir / "cluster").mkdir()
            cluster = await asyncio.to_thread(start_cluster, workdir / "cluster",
                                              make_certs(workdir / "pki"))
            floor_samples = await floor(runtime, count)
            node = f"bench-{uuid.uuid4().hex[:6]}"
            config = write_kubelet_files(workdir, runtime)
            kubelet = start_kubelet(workdir, config, cluster.kubeconfig, node)
            async with Client(load_kubeconfig(cluster.kubeconfig).with_overrides(qps=0)) as c:
                for _ in range(300):
                    with contextlib.suppress(Exception):
                        await c.get("nodes", node)
                        break
                    await asyncio.sleep(0.1)
                idle_kib = resident_kib(kubelet.pid)
                samples = await kubelet_latencies(c, node, count)
                await asyncio.sleep(2)
                busy_kib = resident_kib(kubelet.pid)
            report(count, floor_samples, samples, idle_kib, busy_kib)
        finally:
            if kubelet is not None:
                os.killpg(kubelet.pid, signal.SIGTERM)
                kubelet.wait(30)
            if cluster is not None:
                await asyncio.to_thread(stop_cluster, cluster)
            problems = await runtime.close()
            if problems:
                print("clean-up problems:", problems)


def report(count: int, floor_samples: list[float], samples: list[float], idle_kib: int,
           busy_kib: int) -> None:
    f50, f99 = percentile(floor_samples, 0.5), percentile(floor_samples, 0.99)
    k50, k99 = percentile(samples, 0.5), percentile(samples, 0.99)
    print(f"pods: {count}, created at once")
    print(f"raw CRI floor (RunPodSandbox+Create+Start): p50 {f50:.3f} s  p99 {f99:.3f} s")
    print(f"kubelet (create → all containers running, via watch): p50 {k50:.3f} s  "
          f"p99 {k99:.3f} s")
    print(f"ratio kubelet / floor: p50 {k50 / f50:.2f}x  p99 {k99 / f99:.2f}x")
    print(f"kubelet resident memory: {idle_kib / 1024:.1f} MiB idle, "
          f"{busy_kib / 1024:.1f} MiB with {count} pods")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=30)
    arguments: Any = parser.parse_args()
    asyncio.run(main(arguments.pods))
