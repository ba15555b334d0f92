"""Raw CRI floor for pod start-up, against `ctr run` of the same image, in the same run.

For each of N pods (default 30) the CRI path is RunPodSandbox (network namespace + bridge CNI)
+ CreateContainer + StartContainer with the local busybox image, sequentially, through
kubeadmpy.cri. The reference is `ctr run -d` of the same image (runc, no CNI), also N times.
Everything runs on a private, throw-away containerd (kubeadmpy.cri.scratch) that is removed at
the end. Prints p50/p99 of each and the ratio CRI / ctr, then the same CRI calls for N pods
requested at once (per-pod latency and the time until all run), the shape a kubelet creates.

    python benchmarks/bench_cri.py [--pods 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from kubeadmpy.cri import CRIClient, api
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.images import busybox_reference


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def start_pod(client: CRIClient, runtime: ScratchContainerd, name: str) -> float:
    """RunPodSandbox + CreateContainer + StartContainer for one pod; seconds taken."""
    uid = str(uuid.uuid4())
    config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=name, uid=uid, namespace="bench"),
        hostname=name, log_directory=str(runtime.pod_log_dir / uid),
        linux=api.LinuxPodSandboxConfig())
    container = api.ContainerConfig(
        metadata=api.ContainerMetadata(name="main"),
        image=api.ImageSpec(image=busybox_reference()),
        command=["sleep", "3600"], log_path="main/0.log")
    started = time.perf_counter()
    sandbox = await client.run_pod_sandbox(config)
    container_id = await client.create_container(sandbox, container, config)
    await client.start_container(container_id)
    elapsed = time.perf_counter() - started
    await runtime.remember_netns(client, sandbox)
    return elapsed


async def cri_pods(runtime: ScratchContainerd, count: int) -> list[float]:
    """One pod after the other."""
    async with CRIClient(runtime.endpoint) as client:
        return [await start_pod(client, runtime, f"seq-{number}") for number in range(count)]


async def cri_pods_at_once(runtime: ScratchContainerd, count: int) -> tuple[list[float], float]:
    """All pods requested together (as a kubelet's pod workers would); per pod and total."""
    async with CRIClient(runtime.endpoint) as client:
        started = time.perf_counter()
        durations = await asyncio.gather(*(start_pod(client, runtime, f"par-{number}")
                                           for number in range(count)))
        return list(durations), time.perf_counter() - started


def ctr_runs(runtime: ScratchContainerd, count: int) -> list[float]:
    base = ["ctr", "--address", runtime.socket, "--namespace", "k8s.io"]
    durations = []
    for number in range(count):
        name = f"bench-ctr-{number}"
        started = time.perf_counter()
        subprocess.run([*base, "run", "-d", busybox_reference(), name, "sleep", "3600"],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)
        durations.append(time.perf_counter() - started)
    for number in range(count):
        name = f"bench-ctr-{number}"
        subprocess.run([*base, "task", "kill", "-s", "SIGKILL", name], check=False,
                       capture_output=True)
    for number in range(count):
        name = f"bench-ctr-{number}"
        for _ in range(50):
            gone = subprocess.run([*base, "task", "delete", name], check=False,
                                  capture_output=True)
            if gone.returncode == 0 or b"not found" in gone.stderr:
                break
            time.sleep(0.1)
        subprocess.run([*base, "container", "delete", name], check=False, capture_output=True)
    return durations


def report(label: str, samples: list[float]) -> tuple[float, float]:
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    print(f"{label:44} p50 {p50 * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   "
          f"mean {statistics.mean(samples) * 1000:7.1f} ms   n={len(samples)}")
    return p50, p99


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cri-") as scratch_dir:
        runtime = ScratchContainerd(Path(scratch_dir))
        try:
            await runtime.start()
            cri = await cri_pods(runtime, args.pods)
            ctr = await asyncio.to_thread(ctr_runs, runtime, args.pods)
            await runtime.remove_all_pods()
            together, wall = await cri_pods_at_once(runtime, args.pods)
        finally:
            problems = await runtime.close()
    print(f"CRI floor vs ctr run, {args.pods} pods each, busybox `sleep 3600`, private containerd")
    cri_p50, cri_p99 = report("CRI RunPodSandbox+Create+Start (bridge CNI)", cri)
    ctr_p50, ctr_p99 = report("ctr run -d (runc, no CNI)", ctr)
    print(f"ratio CRI/ctr: p50 {cri_p50 / ctr_p50:.2f}x   p99 {cri_p99 / ctr_p99:.2f}x")
    _, par_p99 = report(f"CRI, {args.pods} pods requested at once", together)
    print(f"  all {args.pods} running after {wall * 1000:.0f} ms; p99 vs sequential CRI "
          f"{par_p99 / cri_p99:.2f}x")
    if problems:
        print("clean-up problems:", *problems, sep="\n  ")


if __name__ == "__main__":
    asyncio.run(main())
