"""Benchmark kubeadmpy.client against the official Python `kubernetes` client, in one run.

Both talk to the same throw-away etcd + kubeadmpy-apiserver (TLS, client certificates from
kubeadmpy.pki, loopback only). Prints requests/s for GET of one ConfigMap and for creating
ConfigMaps:
  * sequential (one request in flight): kubeadmpy.client vs the official synchronous client
    (typed models, and with `_preload_content=False` so no model building);
  * concurrent (--concurrency in flight): kubeadmpy.client vs the official asyncio client
    (`kubernetes.aio`, also aiohttp-based);
and the ratio kubeadmpy / official for each (after a warm-up round, best of two rounds each).
Client and server share this machine's cores, so requests/s is noisy; the client CPU time per
request (this process only; the server is a subprocess) is the steadier figure. The API server is the shared bottleneck, so the
ratios say how much client-side overhead each library adds on top of the same server work.

Usage: python benchmarks/bench_client.py [--requests 1000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests/integration/apiserver"))

from apiserver_harness import make_certs, start_cluster, stop_cluster

from kubeadmpy.client import Client, load_kubeconfig

NAMESPACE = "default"


Measured = tuple[float, float]  # (requests per second, client CPU microseconds per request)


def measured(count: int, wall_start: float, cpu_start: float) -> Measured:
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start  # this process only: the apiserver is a subprocess
    return (count / wall if wall > 0 else float("inf"), cpu / count * 1e6)


def timed_sync(count: int, call: Callable[[int], Any]) -> Measured:
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        call(i)
    return measured(count, start, cpu)


async def timed_async(count: int, concurrency: int, call: Callable[[int], Awaitable[Any]]
                      ) -> Measured:
    numbers = iter(range(count))

    async def worker() -> None:
        for i in numbers:
            await call(i)

    start, cpu = time.perf_counter(), time.process_time()
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    return measured(count, start, cpu)


def body(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"key": "value" * 10}}


def official_sync(kubeconfig: Path, count: int, round_: int) -> dict[str, Measured]:
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    api = k8s.CoreV1Api(k8s_config.new_client_from_config(str(kubeconfig)))
    names = itertools.count()
    target = f"sync-target-{round_}"
    api.create_namespaced_config_map(NAMESPACE, body(target))
    return {
        "get": timed_sync(count, lambda _: api.read_namespaced_config_map(
            target, NAMESPACE)),
        "get_raw": timed_sync(count, lambda _: api.read_namespaced_config_map(
            target, NAMESPACE, _preload_content=False).data),
        "create": timed_sync(count, lambda _: api.create_namespaced_config_map(
            NAMESPACE, body(f"sync-{round_}-{next(names)}"))),
    }


async def official_async(kubeconfig: Path, count: int, concurrency: int, round_: int
                         ) -> dict[str, Measured]:
    from kubernetes.aio import client as k8s
    from kubernetes.aio import config as k8s_config

    api_client = await k8s_config.new_client_from_config(str(kubeconfig))
    async with api_client:
        api = k8s.CoreV1Api(api_client)
        target = f"aio-target-{round_}"
        await api.create_namespaced_config_map(NAMESPACE, body(target))
        return {
            "get": await timed_async(count, concurrency, lambda _: api.read_namespaced_config_map(
                target, NAMESPACE)),
            "create": await timed_async(count, concurrency, lambda i: api
                                        .create_namespaced_config_map(NAMESPACE,
                                                                      body(f"aio-{round_}-{i}"))),
        }


async def ours(kubeconfig: Path, count: int, concurrency: int, round_: int
               ) -> dict[str, Measured]:
    config = load_kubeconfig(kubeconfig).with_overrides(qps=0)  # no client-side throttling
    async with Client(config) as client:
        await client.create("configmaps", body(f"ours-target-{round_}"), NAMESPACE)

        async def get(_: int) -> Any:
            return await client.get("configmaps", f"ours-target-{round_}", NAMESPACE)

        return {
            "get_seq": await timed_async(count, 1, get),
            "create_seq": await timed_async(count, 1, lambda i: client.create(
                "configmaps", body(f"ours-seq-{round_}-{i}"), NAMESPACE)),
            "get": await timed_async(count, concurrency, get),
            "create": await timed_async(count, concurrency, lambda i: client.create(
                "configmaps", body(f"ours-{round_}-{i}"), NAMESPACE)),
        }


def best(into: dict[str, Measured], results: dict[str, Measured]) -> None:
    """Per measurement, the round with the higher rate (and its CPU figure)."""
    for key, value in results.items():
        if key not in into or value[0] > into[key][0]:
            into[key] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmp:
        workdir = Path(tmp)
        cluster = start_cluster(workdir, make_certs(workdir / "pki"))
        try:
            # A warm-up round (caches, etcd) is discarded; then each client runs twice, in
            # turn, and keeps its better round, so neither benefits from going later.
            asyncio.run(ours(cluster.kubeconfig, args.requests // 2, args.concurrency, 0))
            mine: dict[str, Measured] = {}
            sync: dict[str, Measured] = {}
            aio: dict[str, Measured] = {}
            for round_ in (1, 2):
                best(mine, asyncio.run(ours(cluster.kubeconfig, args.requests,
                                            args.concurrency, round_)))
                best(sync, official_sync(cluster.kubeconfig, args.requests, round_))
                best(aio, asyncio.run(official_async(cluster.kubeconfig, args.requests,
                                                     args.concurrency, round_)))
        finally:
            stop_cluster(cluster)
    n, c = args.requests, args.concurrency
    print(f"requests per measurement: {n}; concurrency for the async rows: {c}")
    print(f"{'measurement':44} {'kubeadmpy req/s':>16} {'official req/s':>15} {'ratio':>6}"
          f"   {'client CPU µs/req: ours':>24} {'official':>9} {'ratio':>6}")
    rows = [
        ("GET, sequential (official: typed model)", mine["get_seq"], sync["get"]),
        ("GET, sequential (official: raw bytes)", mine["get_seq"], sync["get_raw"]),
        ("create, sequential", mine["create_seq"], sync["create"]),
        (f"GET, {c} in flight (official: kubernetes.aio)", mine["get"], aio["get"]),
        (f"create, {c} in flight (official: kubernetes.aio)", mine["create"], aio["create"]),
    ]
    for label, (rate, cpu), (their_rate, their_cpu) in rows:
        print(f"{label:44} {rate:16.0f} {their_rate:15.0f} {rate / their_rate:6.2f}"
              f"   {cpu:24.0f} {their_cpu:9.0f} {cpu / their_cpu:6.2f}")


if __name__ == "__main__":
    main()
