"""Benchmark the workload controllers end to end: how fast a Deployment's pods appear.

Prints, for a Deployment of N replicas (default 1,000) in a real etcd + kubeadmpy-apiserver with
kubeadmpy-controller-manager as its own process:
  * pods created per second by the controllers (Deployment → ReplicaSet → N pods, from the
    `create` to the N-th pod existing), and the time to the Deployment reporting N available
    replicas (a stand-in kubelet marks pods Ready as they appear);
  * a reference measured in the same run: the same N pods created directly by one client with
    the same concurrency the ReplicaSet controller reaches (slow start doubles up to 500), i.e.
    what the apiserver accepts; the ratio says how much the controller path costs on top;
  * cascading delete: seconds for the garbage collector to remove the N pods after
    `delete deployment` (background), against deleting N pods directly.

Usage: python benchmarks/bench_workload_controllers.py [--replicas 1000]
Everything runs on loopback with a throw-away etcd and PKI in a temp dir.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "apiserver"))


def pod(index: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"ref-{index}", "labels": {"app": "ref"}},
            "spec": {"containers": [{"name": "c", "image": "x"}]}}


async def count(client: Any, ns: str, selector: str) -> int:
    return len((await client.list("pods", ns, label_selector=selector)).items)


async def poll(check: Any, period: float = 0.1) -> None:
    """Return once `await check()` is true (polling: what a user of the API sees)."""
    while not await check():  # noqa: ASYNC110 (polling the API on purpose)
        await asyncio.sleep(period)


async def wait_count(client: Any, ns: str, selector: str, target: int) -> None:
    async def reached() -> bool:
        return await count(client, ns, selector) == target
    await poll(reached)


async def stand_in_kubelet(client: Any, ns: str) -> None:
    """Marks every new pod Ready (no kubelet exists yet), as the integration tests do."""
    done: set[str] = set()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": stamp}]}
    slots = asyncio.Semaphore(64)

    async def mark(name: str) -> None:
        async with slots:
            with contextlib.suppress(Exception):
                await client.patch("pods", name, {"status": status}, ns, subresource="status")
    while True:
        pods = (await client.list("pods", ns, label_selector="app=web")).items
        fresh = [p["metadata"]["name"] for p in pods if p["metadata"]["uid"] not in done]
        await asyncio.gather(*(mark(n) for n in fresh))
        done.update(p["metadata"]["uid"] for p in pods)
        await asyncio.sleep(0.2)


async def run(replicas: int) -> None:
    from apiserver_harness import Process, make_certs, start_cluster, stop_cluster

    from kubeadmpy.client import Client, load_kubeconfig

    with tempfile.TemporaryDirectory(prefix="bench-workloads-") as tmp:
        root = Path(tmp)
        cluster = start_cluster(root, make_certs(root / "pki"))
        manager = Process([sys.executable, "-m", "kubeadmpy.controllers.main",
                           f"--kubeconfig={cluster.kubeconfig}", "--bind-address=127.0.0.1",
                           "--secure-port=0", "--leader-elect=false", "--kube-api-qps=0",
                           "--kube-api-burst=1000",
                           "--controllers=deployment-controller,replicaset-controller,"
                           "garbage-collector-controller"], root / "kcm.log")
        try:
            manager.start()
            config = load_kubeconfig(cluster.kubeconfig).with_overrides(qps=0)
            async with Client(config) as client:
                for ns in ("bench", "ref"):
                    await client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": ns}})
                # reference: the same pods straight from one client, up to 500 at once
                slots = asyncio.Semaphore(500)

                async def create(i: int) -> None:
                    async with slots:
                        await client.create("pods", pod(i), "ref")
                await asyncio.gather(*(create(-1 - i) for i in range(100)))  # warm up
                start = time.perf_counter()
                await asyncio.gather(*(create(i) for i in range(replicas)))
                direct = time.perf_counter() - start

                await asyncio.sleep(2)  # the controller-manager's caches are synced by now
                kubelet = asyncio.create_task(stand_in_kubelet(client, "bench"))
                start = time.perf_counter()
                await client.create("deployments", {
                    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                    "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                             "template": {"metadata": {"labels": {"app": "web"}},
                                          "spec": {"containers": [{"name": "c",
                                                                   "image": "x"}]}}}}, "bench")
                await wait_count(client, "bench", "app=web", replicas)
                created = time.perf_counter() - start
                async def all_available() -> bool:
                    d = await client.get("deployments", "web", "bench")
                    return bool((d.get("status") or {}).get("availableReplicas") == replicas)
                await poll(all_available, 0.2)
                available = time.perf_counter() - start
                kubelet.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await kubelet

                start = time.perf_counter()
                await client.delete("deployments", "web", "bench",
                                    propagation_policy="Background")
                await wait_count(client, "bench", "app=web", 0)
                collected = time.perf_counter() - start
                start = time.perf_counter()

                async def delete(i: int) -> None:
                    async with slots:
                        await client.delete("pods", f"ref-{i}", "ref")
                await asyncio.gather(*(delete(i) for i in range(replicas)))
                deleted = time.perf_counter() - start
        finally:
            manager.stop()
            stop_cluster(cluster)
    print(f"Deployment of {replicas} replicas through kubeadmpy-controller-manager")
    print(f"  pods created by the controllers : {created:6.2f} s  "
          f"{replicas / created:7.1f} pods/s")
    print(f"  pods created directly (reference): {direct:6.2f} s  "
          f"{replicas / direct:7.1f} pods/s")
    print(f"  ratio controllers / direct       : {created / direct:6.2f}x the time")
    print(f"  all {replicas} available (stand-in kubelet marking Ready): {available:6.2f} s")
    print(f"  background cascade by the GC     : {collected:6.2f} s  "
          f"{replicas / collected:7.1f} pods/s")
    print(f"  pods deleted directly (reference): {deleted:6.2f} s  "
          f"{replicas / deleted:7.1f} pods/s")
    print(f"  ratio GC / direct                : {collected / deleted:6.2f}x the time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(run(args.replicas))


if __name__ == "__main__":
    main()
