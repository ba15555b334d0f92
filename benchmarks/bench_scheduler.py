"""Benchmark kubeadmpy-scheduler: the algorithm alone, then end to end through the apiserver.

Prints:
  * algorithm only (filter + score + assume per pod), 1,000 pods on 500 and on 5,000 simulated
    nodes, for plain pods and for pods with a topology spread constraint and pod anti-affinity;
    as pods/s, and as ratios: 5,000 vs 500 nodes, and against a reference measured in the same
    run (a bare first-fit loop over the same nodes: the floor of any Python scheduler);
  * end to end: 1,000 pending pods on 500 (and 5,000) simulated nodes (Node objects, no kubelet) in a real
    etcd + kubeadmpy-apiserver, kubeadmpy-scheduler as its own process; pods bound per second,
    against the rate the same apiserver accepted the pods' creation (the reference);
  * where the scheduler process spends its time (cProfile of that run, top functions).

Usage: python benchmarks/bench_scheduler.py [--pods 1000] [--e2e-nodes 500 5000] [--skip-e2e]
Everything runs on loopback with a throw-away etcd and PKI in a temp dir.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "apiserver"))
sys.path.insert(0, str(ROOT / "tests" / "integration" / "scheduler"))

from kubeadmpy.scheduler.algorithm import Algorithm, feasible_nodes_to_find  # noqa: E402
from kubeadmpy.scheduler.model import pod_info  # noqa: E402
from kubeadmpy.scheduler.simulated import simulated_nodes  # noqa: E402
from kubeadmpy.scheduler.snapshot import ClusterSnapshot  # noqa: E402


def bench_pod(index: int, heavy: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "registry.local/app:1",
                                            "resources": {"requests": {"cpu": "100m",
                                                                       "memory": "128Mi"}}}]}
    labels = {"app": f"group-{index % 10}"}
    if heavy:
        selector = {"matchLabels": labels}
        spec["topologySpreadConstraints"] = [{
            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule", "labelSelector": selector}]
        spec["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"labelSelector": selector,
                                                "topologyKey": "kubernetes.io/hostname"}}]}}
    return {"metadata": {"name": f"p-{index}", "namespace": "bench", "labels": labels},
            "spec": spec}


def algorithm_run(nodes: int, pods: int, heavy: bool) -> float:
    """Seconds to schedule `pods` pods (decide + assume) on `nodes` fresh nodes."""
    snapshot = ClusterSnapshot()
    for node in simulated_nodes(nodes, zones=3, cpu="32", memory="128Gi"):
        snapshot.set_node(node)
    raws = [bench_pod(i, heavy) for i in range(pods)]
    algorithm = Algorithm(rng=random.Random(1))
    start = time.perf_counter()
    for raw in raws:
        pod = pod_info(raw)
        decision = algorithm.schedule(pod, snapshot)
        snapshot.assume(pod, decision.node_name)
    return time.perf_counter() - start


def bare_loop_reference(nodes: int, pods: int) -> float:
    """The floor of any Python scheduler: per pod, read and compare one integer for each node
    upstream's adaptive search visits, keep the best, subtract the request. No policies."""
    visited = feasible_nodes_to_find(nodes)
    free = [32000] * nodes
    start = time.perf_counter()
    offset = 0
    for _ in range(pods):
        best, chosen = -1, 0
        for step in range(visited):
            index = (offset + step) % nodes
            if free[index] >= 100 and free[index] > best:
                best, chosen = free[index], index
        free[chosen] -= 100
        offset = (offset + visited) % nodes
    return time.perf_counter() - start


def algorithm_section(pods: int) -> None:
    print(f"== algorithm only: {pods} pods, filter + score + assume per pod ==")
    for heavy in (False, True):
        kind = "spread + anti-affinity" if heavy else "plain requests"
        figures = {}
        for nodes in (500, 5000):
            seconds = algorithm_run(nodes, pods, heavy)
            reference = bare_loop_reference(nodes, pods)
            figures[nodes] = seconds
            print(f"  {kind:24s} {nodes:5d} nodes: {pods / seconds:8.0f} pods/s "
                  f"({seconds / pods * 1e3:.2f} ms/pod); {seconds / reference:5.1f}x the "
                  f"bare-loop reference ({pods / reference:.0f} pods/s)")
        print(f"  {kind:24s} 5,000 vs 500 nodes: {figures[5000] / figures[500]:.2f}x the time")


BUCKETS = (("scheduling algorithm (kubeadmpy/scheduler)", "kubeadmpy/scheduler/"),
           ("API client (kubeadmpy/client)", "kubeadmpy/client/"),
           ("HTTP (aiohttp, yarl, multidict)", "aiohttp"),
           ("TLS", "ssl"),
           ("JSON", "json"),
           ("event loop (asyncio, selectors)", "asyncio"))


def profile_summary(profile: Path, top: int) -> None:
    stats = pstats.Stats(str(profile), stream=io.StringIO())
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    shares = dict.fromkeys([name for name, _ in BUCKETS] + ["other"], 0.0)
    for (filename, _, function), entry in raw.items():
        where = f"{filename}:{function}"
        bucket = next((name for name, needle in BUCKETS if needle in where), "other")
        if bucket == "other" and "selector" in where:
            bucket = "event loop (asyncio, selectors)"
        shares[bucket] += entry[2]
    print(f"  where the scheduler process spent its CPU (cProfile, {total:.2f} s own time):")
    for name, seconds in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"    {seconds / total:6.1%}  {name}")
    print(f"  top {top} functions by own time:")
    ranked = sorted(raw.items(), key=lambda item: -item[1][2])[:top]
    for (filename, line, function), entry in ranked:
        short = filename.split("site-packages/")[-1].split("/work/main/")[-1]
        print(f"    {entry[2]:6.3f} s  {entry[1]:8d} calls  {short}:{line}({function})")


async def measure(client: Any, namespace: str, pods: int, process: Any) -> tuple[float, float]:
    """Start the scheduler process; (seconds from start to first binding, seconds from the first
    binding to the last)."""
    started = time.perf_counter()
    process.start()
    first_bound = None
    while True:
        listed = await client.list("pods", namespace)
        bound = sum(1 for p in listed.items if (p.get("spec") or {}).get("nodeName"))
        if bound and first_bound is None:
            first_bound = time.perf_counter()
        if bound == pods:
            break
        if time.perf_counter() - started > 300:
            raise TimeoutError(f"only {bound}/{pods} bound after 300 s")
        await asyncio.sleep(0.1)
    assert first_bound is not None
    return first_bound - started, time.perf_counter() - first_bound


async def e2e_section(pods: int, node_count: int, qps: int, profile_top: int) -> None:
    from apiserver_harness import Process, free_port, make_certs, start_cluster, stop_cluster
    from scheduler_harness import create_pods, pending_pod, register_simulated_nodes

    from kubeadmpy.client import Client, load_kubeconfig

    print(f"== end to end: {pods} pods on {node_count} simulated nodes, "
          f"etcd + apiserver + scheduler process (--kube-api-qps={qps}) ==")
    with tempfile.TemporaryDirectory(prefix="bench-scheduler-") as tmp:
        root = Path(tmp)
        cluster = start_cluster(root, make_certs(root / "pki"))
        processes: list[Process] = []

        def scheduler(*prefix: str) -> Process:
            process = Process([
                sys.executable, *prefix, "-m", "kubeadmpy.scheduler.main",
                f"--kubeconfig={cluster.kubeconfig}", "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}", "--leader-elect=false",
                f"--kube-api-qps={qps}", f"--kube-api-burst={qps * 2}"],
                root / f"scheduler-{len(processes)}.log")
            processes.append(process)
            return process

        try:
            config = load_kubeconfig(cluster.kubeconfig).with_overrides(qps=0)
            async with Client(config) as client:
                await register_simulated_nodes(client, simulated_nodes(
                    node_count, zones=3, cpu="64", memory="256Gi"))
                for namespace in ("bench", "profiled"):
                    await client.create("namespaces", {"metadata": {"name": namespace}})
                start = time.perf_counter()
                await create_pods(client, "bench", [pending_pod(f"p-{i}") for i in range(pods)])
                created = time.perf_counter() - start
                print(f"  reference: the apiserver accepted {pods} pod creations at "
                      f"{pods / created:.0f} pods/s (32 in flight)")
                startup, seconds = await measure(client, "bench", pods, scheduler())
                processes[-1].stop()
                rate = pods / seconds
                print(f"  scheduler: {pods} pods bound in {seconds:.2f} s after the first binding "
                      f"= {rate:.0f} pods/s ({rate / (pods / created):.2f}x the creation rate); "
                      f"start-up incl. cache sync {startup:.2f} s")
                # Again under cProfile (which slows it), with the first pods still on the nodes.
                await create_pods(client, "profiled",
                                  [pending_pod(f"p-{i}") for i in range(pods)])
                profile = root / "scheduler.prof"
                _, seconds = await measure(client, "profiled", pods,
                                           scheduler("-m", "cProfile", "-o", str(profile)))
                processes[-1].stop()  # SIGTERM: a normal exit, so cProfile writes its file
                print(f"  under cProfile: {pods / seconds:.0f} pods/s")
            if profile.exists():
                profile_summary(profile, profile_top)
        finally:
            for process in processes:
                process.stop()
            stop_cluster(cluster)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--e2e-nodes", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--qps", type=int, default=1000,
                        help="the scheduler's --kube-api-qps (upstream default 50)")
    parser.add_argument("--profile-top", type=int, default=15)
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()
    algorithm_section(args.pods)
    if not args.skip_e2e:
        for nodes in args.e2e_nodes:
            asyncio.run(e2e_section(args.pods, nodes, args.qps, args.profile_top))


if __name__ == "__main__":
    main()
