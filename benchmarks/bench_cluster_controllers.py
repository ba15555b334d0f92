"""Benchmark the endpoints and endpointslice controllers, alone and end to end.

Prints:
  * computation only: v1 Endpoints subsets and EndpointSlices for one Service backed by 1,000
    and 5,000 pods, per call, against a reference measured in the same run (a bare loop that
    only reads each pod's IP and Ready condition: the floor of any Python implementation);
  * end to end: N pods behind one Service in a real etcd + kubeadmpy-apiserver, both
    controllers running in-process; the test (acting as the kubelet) marks every pod Ready and
    we measure how long after the last status write the Endpoints and the EndpointSlices list
    all N as ready, against the time the N status writes themselves took (the reference), and
    how many reconciles the burst cost (the queue collapses repeated keys);
  * node lifecycle: M simulated nodes (Node + Lease, no kubelet) all go silent; time until
    every node is Ready=Unknown with the unreachable NoSchedule taint (all silent at once is
    master disruption: no NoExecute, no evictions), against the time the same number of
    status, taint and event writes take when the benchmark sends them itself with the
    controller's concurrency (the reference).

Usage: python benchmarks/bench_cluster_controllers.py [--pods 500] [--nodes 500] [--skip-e2e]
Everything runs on loopback with a throw-away etcd and PKI in a temp dir.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "apiserver"))
sys.path.insert(0, str(ROOT / "tests" / "integration" / "controllers_cluster"))

from kubeadmpy.controllers.cluster import backends, endpoints, endpointslice  # noqa: E402

SERVICE = {"metadata": {"name": "web", "namespace": "bench"},
           "spec": {"selector": {"app": "web"},
                    "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def make_pod(index: int, ready: bool = True) -> dict[str, Any]:
    ip = f"10.{index // 65536}.{index // 256 % 256}.{index % 256}"
    return {"metadata": {"name": f"web-{index}", "namespace": "bench", "uid": f"u{index}",
                         "labels": {"app": "web"}},
            "spec": {"nodeName": f"node-{index % 50}", "containers": [
                {"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def reference(pods: list[dict[str, Any]]) -> int:
    count = 0
    for pod in pods:
        if pod["status"]["podIP"] and backends.is_ready(pod):
            count += 1
    return count


def timed(func: Any, *args: Any, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        func(*args)
        best = min(best, time.perf_counter() - start)
    return best


def computation() -> None:
    print("computation only (best of 5):")
    for count in (1000, 5000):
        pods = [make_pod(i, ready=i % 3 != 0) for i in range(count)]
        floor = timed(reference, pods)
        subsets = timed(endpoints.build_subsets, SERVICE, pods)
        slices = timed(endpointslice.desired_slices, SERVICE, pods)
        print(f"  {count:5d} pods: reference loop {floor * 1e3:7.2f} ms | Endpoints "
              f"{subsets * 1e3:7.2f} ms ({subsets / floor:5.1f}x) | EndpointSlices "
              f"{slices * 1e3:7.2f} ms ({slices / floor:5.1f}x)")


async def end_to_end(pod_count: int) -> None:
    from apiserver_harness import make_certs, start_cluster, stop_cluster
    from cluster_controllers_harness import running_controllers, simulated_nodes

    from kubeadmpy.client import Client, load_kubeconfig
    from kubeadmpy.controllers.registry import ManagerOptions

    with tempfile.TemporaryDirectory(prefix="bench-cluster-controllers-") as tmp:
        workdir = Path(tmp)
        cluster = start_cluster(workdir, make_certs(workdir / "pki"))
        try:
            config = load_kubeconfig(cluster.kubeconfig).with_overrides(qps=0)
            async with Client(config) as admin, simulated_nodes(admin) as nodes:
                await nodes.add("node-a")
                await admin.create("namespaces", {"metadata": {"name": "bench"}})
                await admin.create("services", SERVICE, "bench")
                semaphore = asyncio.Semaphore(32)

                async def create(index: int) -> None:
                    async with semaphore:
                        body = make_pod(index)
                        await admin.create("pods", {"metadata": body["metadata"],
                                                    "spec": {**body["spec"], "containers": [
                                                        {**body["spec"]["containers"][0],
                                                         "image": "x"}]}}, "bench")
                await asyncio.gather(*(create(i) for i in range(pod_count)))
                controllers = (("endpoints", endpoints.new_controller),
                               ("endpointslice", endpointslice.new_controller))
                async with running_controllers(admin, ManagerOptions(), *controllers) as built:
                    async def ready(index: int) -> None:
                        async with semaphore:
                            await nodes.mark_pod_ready("bench", f"web-{index}",
                                                       make_pod(index)["status"]["podIP"])
                    start = time.perf_counter()
                    await asyncio.gather(*(ready(i) for i in range(pod_count)))
                    writes_done = time.perf_counter()
                    done: dict[str, float] = {}
                    while len(done) < 2:
                        if "endpoints" not in done:
                            ep = await admin.get("endpoints", "web", "bench")
                            if sum(len(s.get("addresses") or [])
                                   for s in ep.get("subsets") or []) == pod_count:
                                done["endpoints"] = time.perf_counter()
                        if "endpointslices" not in done:
                            slices = (await admin.list("endpointslices", "bench")).items
                            if sum(1 for s in slices for e in s.get("endpoints") or []
                                   if e["conditions"]["ready"]) == pod_count:
                                done["endpointslices"] = time.perf_counter()
                        await asyncio.sleep(0.02)
                    write_time = writes_done - start
                    print(f"end to end, {pod_count} pods marked Ready by the test (kubelet "
                          f"stand-in):")
                    print(f"  reference: the {pod_count} status writes took {write_time:.2f} s "
                          f"({pod_count / write_time:.0f} writes/s)")
                    for what, at in done.items():
                        print(f"  {what:15s} all ready {at - start:6.2f} s after the first "
                              f"write ({(at - start) / write_time:4.2f}x the writes), "
                              f"{(at - writes_done) * 1e3:6.0f} ms after the last")
                    for name, runnable in built.items():
                        controller = getattr(runnable, "controller", None)
                        if controller is not None:
                            print(f"  {name:15s} {controller.reconciles} reconciles for "
                                  f"{pod_count} pod updates")
        finally:
            stop_cluster(cluster)


async def node_lifecycle(node_count: int) -> None:
    from apiserver_harness import make_certs, start_cluster, stop_cluster
    from cluster_controllers_harness import now_rfc3339, running_controllers

    from kubeadmpy.client import Client, load_kubeconfig
    from kubeadmpy.client.rest import PatchType
    from kubeadmpy.controllers.cluster import nodelifecycle
    from kubeadmpy.controllers.registry import ManagerOptions

    with tempfile.TemporaryDirectory(prefix="bench-node-lifecycle-") as tmp:
        workdir = Path(tmp)
        cluster = start_cluster(workdir, make_certs(workdir / "pki"))
        try:
            config = load_kubeconfig(cluster.kubeconfig).with_overrides(qps=0)
            async with Client(config) as admin:
                semaphore = asyncio.Semaphore(32)
                stamp = now_rfc3339()

                async def register(name: str) -> None:
                    async with semaphore:
                        await admin.create("nodes", {"metadata": {"name": name}})
                        await admin.patch("nodes", name, {"status": {"conditions": [{
                            "type": "Ready", "status": "True", "reason": "KubeletReady",
                            "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}]}},
                            patch_type=PatchType.MERGE, subresource="status")
                        await admin.create("leases", {
                            "metadata": {"name": name, "namespace": "kube-node-lease"},
                            "spec": {"holderIdentity": name,
                                     "renewTime": now_rfc3339(micro=True)}},
                            "kube-node-lease")
                await asyncio.gather(*(register(f"node-{i}") for i in range(node_count)))
                reference_nodes = [f"ref-{i}" for i in range(node_count)]
                await asyncio.gather(*(admin.create("nodes", {"metadata": {"name": n}})
                                       for n in reference_nodes))

                workers = asyncio.Semaphore(nodelifecycle.NODE_UPDATE_WORKERS)

                async def write_like_the_controller(name: str) -> None:
                    async with workers:  # the controller's concurrency
                        await admin.patch("nodes", name, {"status": {"conditions": [{
                            "type": "Ready", "status": "Unknown"}]}},
                            patch_type=PatchType.MERGE, subresource="status")
                        await admin.patch("nodes", name, {"spec": {"taints": [{
                            "key": "node.kubernetes.io/unreachable",
                            "effect": "NoSchedule"}]}}, patch_type=PatchType.MERGE)
                        await admin.create("events", {
                            "metadata": {"generateName": f"{name}.", "namespace": "default"},
                            "involvedObject": {"kind": "Node", "name": name},
                            "reason": "NodeNotReady", "message": "reference"}, "default")
                start = time.perf_counter()
                await asyncio.gather(*(write_like_the_controller(n) for n in reference_nodes))
                reference_time = time.perf_counter() - start
                await asyncio.gather(*(admin.delete("nodes", n) for n in reference_nodes))

                options = ManagerOptions(node_monitor_grace_period=2.0,
                                         node_startup_grace_period=2.0, node_monitor_period=1.0)
                async with running_controllers(
                        admin, options, ("nodelifecycle", nodelifecycle.new_controller)) as built:
                    start = time.perf_counter()  # grace starts now: nobody renews
                    while True:
                        listed = (await admin.list("nodes")).items
                        done = sum(1 for n in listed if any(
                            t["key"] == "node.kubernetes.io/unreachable"
                            for t in (n.get("spec") or {}).get("taints") or []))
                        if done == node_count:
                            break
                        await asyncio.sleep(0.2)
                    converged = time.perf_counter() - start - options.node_monitor_grace_period
                    runnable = built["nodelifecycle"]
                    reconciles = runnable.controller.reconciles  # type: ignore[attr-defined]
                print(f"node lifecycle, {node_count} silent simulated nodes:")
                print(f"  reference: the same {3 * node_count} writes (status, taint, event) "
                      f"sent directly, {nodelifecycle.NODE_UPDATE_WORKERS} at a time, took "
                      f"{reference_time:.2f} s")
                print(f"  controller: all Unknown + tainted {converged:.2f} s after the grace "
                      f"period ({converged / reference_time:.2f}x the reference), "
                      f"{reconciles} reconciles")
        finally:
            stop_cluster(cluster)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=500)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()
    computation()
    if not args.skip_e2e:
        asyncio.run(end_to_end(args.pods))
        asyncio.run(node_lifecycle(args.nodes))


if __name__ == "__main__":
    main()
