"""Benchmark kubeadmpy-apiserver against the etcd it runs on, in one run, on this machine.

Prints:
  * pod create throughput through the apiserver vs raw etcd puts of the same bytes at the same
    concurrency with the same gRPC client (the issue's goal: at least 50 % of raw), and the CPU
    each process spends per write;
  * GET and LIST latency p50/p99 at a fixed request rate (LIST with resourceVersion=0, and
    consistent LISTs without it, which the cache serves after an etcd progress check);
  * watch fan-out: events/s delivered to 100 watchers;
  * resident memory of the apiserver with 10,000 pods stored.

Usage: python benchmarks/bench_apiserver.py [--pods 10000] [--concurrency 32] [--writes-only]
Everything runs on loopback with a throw-away etcd and PKI in a temp dir.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from kubeadmpy import pki
from kubeadmpy.apiserver.etcd import EtcdClient, EtcdTLS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "bench", "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
                                     "command": ["sleep", "3600"]}]}}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


class Stack:
    """etcd + apiserver subprocesses with kubeadmpy PKI; stopped in `close`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.certs = root / "pki"
        self.settings = pki.PKISettings(node_name="bench", advertise_address="127.0.0.1",
                                        etcd_server_cert_sans=("127.0.0.1",))
        pki.ensure_certs(self.settings, self.certs)
        self.etcd_port, self.peer_port, self.api_port = free_port(), free_port(), free_port()
        self.procs: list[subprocess.Popen[bytes]] = []

    def c(self, name: str) -> str:
        return str(self.certs / name)

    @property
    def etcd_url(self) -> str:
        return f"https://127.0.0.1:{self.etcd_port}"

    def start(self) -> None:
        log = (self.root / "etcd.log").open("wb")
        self.procs.append(subprocess.Popen([
            "etcd", "--data-dir", str(self.root / "etcd"), "--listen-client-urls",
            self.etcd_url, "--advertise-client-urls", self.etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{self.peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_port}",
            "--initial-cluster", f"default=http://127.0.0.1:{self.peer_port}",
            "--cert-file", self.c("etcd/server.crt"), "--key-file", self.c("etcd/server.key"),
            "--trusted-ca-file", self.c("etcd/ca.crt"), "--client-cert-auth"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        time.sleep(1.0)
        log = (self.root / "apiserver.log").open("wb")
        self.procs.append(subprocess.Popen([
            sys.executable, *self.profile_args(), "-m", "kubeadmpy.apiserver.main",
            f"--etcd-servers={self.etcd_url}",
            f"--etcd-cafile={self.c('etcd/ca.crt')}",
            f"--etcd-certfile={self.c('apiserver-etcd-client.crt')}",
            f"--etcd-keyfile={self.c('apiserver-etcd-client.key')}",
            "--bind-address=127.0.0.1", f"--secure-port={self.api_port}",
            f"--tls-cert-file={self.c('apiserver.crt')}",
            f"--tls-private-key-file={self.c('apiserver.key')}",
            f"--client-ca-file={self.c('ca.crt')}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    @staticmethod
    def profile_args() -> list[str]:
        """BENCH_PROFILE=<file> runs the apiserver under cProfile (to find hot spots)."""
        target = os.environ.get("BENCH_PROFILE")
        return ["-m", "cProfile", "-o", target] if target else []

    def client_ssl(self) -> ssl.SSLContext:
        config = yaml.safe_load(pki.kubeconfig_for_user(
            "bench", ["system:masters"], self.settings, self.certs,
            server=f"https://127.0.0.1:{self.api_port}"))
        import base64
        user = config["users"][0]["user"]
        (self.root / "client.crt").write_bytes(base64.b64decode(user["client-certificate-data"]))
        (self.root / "client.key").write_bytes(base64.b64decode(user["client-key-data"]))
        context = ssl.create_default_context(cafile=self.c("ca.crt"))
        context.load_cert_chain(str(self.root / "client.crt"), str(self.root / "client.key"))
        return context

    def etcd_client(self) -> EtcdClient:
        return EtcdClient([self.etcd_url], EtcdTLS(self.c("etcd/ca.crt"),
                                                   self.c("apiserver-etcd-client.crt"),
                                                   self.c("apiserver-etcd-client.key")))

    @property
    def apiserver_pid(self) -> int:
        return self.procs[1].pid

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)  # lets a profiled apiserver write its data
                try:
                    proc.wait(10)
                    continue
                except subprocess.TimeoutExpired:
                    pass
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


async def run_concurrently(count: int, concurrency: int, work: Any) -> float:
    """Seconds to run work(i) for i in range(count) with `concurrency` in flight."""
    queue = iter(range(count))

    async def worker() -> None:
        for index in queue:
            await work(index)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def wait_ready(http: aiohttp.ClientSession) -> None:
    for _ in range(300):
        try:
            async with http.get("/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("apiserver did not become ready")


async def fixed_rate(http: aiohttp.ClientSession, path: str, rate: float, count: int
                     ) -> list[float]:
    latencies: list[float] = []

    async def one() -> None:
        start = time.perf_counter()
        async with http.get(path) as response:
            await response.read()
            assert response.status == 200, response.status
        latencies.append(time.perf_counter() - start)

    tasks = []
    for _ in range(count):
        tasks.append(asyncio.create_task(one()))
        await asyncio.sleep(1 / rate)
    await asyncio.gather(*tasks)
    return latencies


async def watch_fanout(http: aiohttp.ClientSession, watchers: int, events: int) -> float:
    base = "/api/v1/namespaces/fanout/configmaps"
    async with http.post("/api/v1/namespaces", json={"metadata": {"name": "fanout"}}) as r:
        assert r.status == 201
    async with http.get(base) as response:
        rv = (await response.json())["metadata"]["resourceVersion"]
    received = [0] * watchers
    done = asyncio.Event()

    async def watch(index: int) -> None:
        async with http.get(f"{base}?watch=true&resourceVersion={rv}",
                            timeout=aiohttp.ClientTimeout(total=None)) as response:
            async for line in response.content:
                if line.strip():
                    received[index] += 1
                    if sum(received) >= watchers * events:
                        done.set()
                        return
                    if received[index] >= events:
                        return

    tasks = [asyncio.create_task(watch(i)) for i in range(watchers)]
    await asyncio.sleep(1.0)
    start = time.perf_counter()

    async def write(index: int) -> None:
        async with http.post(base, json={"metadata": {"name": f"e{index}"}, "data": {}}) as r:
            assert r.status == 201

    await run_concurrently(events, 8, write)
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return watchers * events / elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its waited-for children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main(pods: int, concurrency: int, writes_only: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-apiserver-") as tmp:
        stack = Stack(Path(tmp))
        stack.start()
        try:
            connector = aiohttp.TCPConnector(ssl=stack.client_ssl(), limit=concurrency * 4)
            async with aiohttp.ClientSession(f"https://127.0.0.1:{stack.api_port}",
                                             connector=connector) as http, \
                    stack.etcd_client() as etcd:
                await wait_ready(http)
                async with http.post("/api/v1/namespaces",
                                     json={"metadata": {"name": "bench"}}) as response:
                    assert response.status == 201
                # what the serviceaccount controller would make: ServiceAccount admission
                # (on by default, as upstream) refuses pods without it
                async with http.post("/api/v1/namespaces/bench/serviceaccounts",
                                     json={"metadata": {"name": "default"}}) as response:
                    assert response.status == 201
                sample = json.dumps(pod("sample")).encode()
                measured = min(pods, 2000)

                async def raw_put(index: int) -> None:
                    await etcd.put(f"/bench/raw/{index}", sample)

                async def api_create(index: int) -> None:
                    async with http.post("/api/v1/namespaces/bench/pods",
                                         json=pod(f"p{index}")) as response:
                        await response.read()
                        assert response.status == 201, await response.text()

                pids = {"client": os.getpid(), "etcd": stack.procs[0].pid,
                        "apiserver": stack.apiserver_pid}
                results = {}
                for label, work in (("raw etcd puts", raw_put), ("apiserver", api_create)):
                    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                    rate = measured / await run_concurrently(measured, concurrency, work)
                    cost = {name: (cpu_seconds(pid) - before[name]) / measured * 1000
                            for name, pid in pids.items()}
                    results[label] = rate
                    print(f"  {label:14s}: {rate:6.0f} /s   CPU ms per write: " + ", ".join(
                        f"{name} {ms:.2f}" for name, ms in cost.items()))
                raw, api = results["raw etcd puts"], results["apiserver"]
                print(f"pod creates, {measured} at concurrency {concurrency}: apiserver/raw "
                      f"= {api / raw:.0%} (goal >= 50%)")
                if writes_only:
                    return

                async def more(index: int) -> None:
                    await api_create(measured + index)

                if pods > measured:
                    await run_concurrently(pods - measured, concurrency, more)
                await asyncio.sleep(1.0)
                print(f"apiserver RSS with {pods} pods stored: "
                      f"{rss_mib(stack.apiserver_pid):.0f} MiB")

                for label, path, rate, count in (
                        ("GET one pod", "/api/v1/namespaces/bench/pods/p1", 100, 500),
                        ("LIST 500 pods, cache (rv=0)",
                         "/api/v1/namespaces/bench/pods?limit=500&resourceVersion=0", 5, 50),
                        ("LIST 500 pods, consistent (rv unset)",
                         "/api/v1/namespaces/bench/pods?limit=500", 5, 50),
                        ("LIST all pods, cache (rv=0)",
                         "/api/v1/pods?resourceVersion=0", 1, 10)):
                    latencies = await fixed_rate(http, path, rate, count)
                    print(f"{label:34s} at {rate:>3} req/s: p50 "
                          f"{percentile(latencies, 0.5) * 1000:7.1f} ms  p99 "
                          f"{percentile(latencies, 0.99) * 1000:7.1f} ms")
                rate = await watch_fanout(http, 100, 200)
                print(f"watch fan-out, 100 watchers x 200 events: {rate:,.0f} events/s "
                      "delivered")
        finally:
            stack.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--writes-only", action="store_true",
                        help="stop after the create throughput comparison")
    args = parser.parse_args()
    asyncio.run(main(args.pods, args.concurrency, args.writes_only))
