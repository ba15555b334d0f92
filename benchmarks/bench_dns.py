"""Benchmark kubeadmpy-dns: queries/s for cluster names, next to a reference measured in the
same run.

The server runs in its own process (uvloop, as `kubeadmpy-dns` runs) over an index holding
`--services` ClusterIP Services and a tenth as many headless ones with 5 endpoints each; the
load generator in this process keeps `--window` UDP queries in flight for `--seconds` per
scenario. The reference is the least a Python DNS server can do per query: dnspython's own
parse → make_response → one static A record → to_wire, in a bare uvloop datagram server with
the same load generator. Scenarios: one name asked over and over (the reply cache), every
Service name in turn, the same with the reply cache off (the lookup itself), the same with the
cache while another Service's EndpointSlice changes 100 times a second (only that Service's
replies are dropped), NXDOMAIN from a search-list walk, and a headless Service (5 shuffled A
records, never cached).

Usage: python benchmarks/bench_dns.py [--services 1000] [--seconds 3] [--window 64]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import time
from collections.abc import Callable
from typing import Any

import dns.message
import dns.rrset
import uvloop

from kubeadmpy.dns import ClusterIndex, DnsHandler, Zone, serve

LOCAL = "127.0.0.1"


def cluster(services: int) -> ClusterIndex:
    index = ClusterIndex()
    index.set_namespace("default")
    for i in range(services):
        index.set_service({"metadata": {"name": f"svc-{i}", "namespace": "default"},
                           "spec": {"clusterIP": f"10.96.{i // 250}.{i % 250 + 1}",
                                    "ports": [{"name": "http", "port": 80}]}})
    for i in range(services // 10):
        index.set_service({"metadata": {"name": f"hl-{i}", "namespace": "default"},
                           "spec": {"clusterIP": "None", "ports": [{"port": 80}]}})
        index.set_slice({"metadata": {"name": f"hl-{i}-a", "namespace": "default",
                                      "labels": {"kubernetes.io/service-name": f"hl-{i}"}},
                         "addressType": "IPv4", "ports": [{"port": 80}],
                         "endpoints": [{"addresses": [f"10.244.{i % 250}.{j + 1}"]}
                                       for j in range(5)]})
    return index


CHURN_PERIOD = 0.01  # "churn" scenarios: an EndpointSlice update every 10 ms (100 events/s)


def run_kubeadmpy_dns(services: int, cache: bool, ports: Any, churn: bool = False) -> None:
    index = cluster(services)
    handler = DnsHandler(index, Zone.parse("cluster.local"), None,
                         cache_entries=10000 if cache else 0)

    async def endpoints_churn() -> None:
        """What a rolling update elsewhere looks like to the index: hl-0's slice keeps changing
        (the informer applies it on the same loop, as in kubeadmpy-dns)."""
        for turn in range(10**9):
            await asyncio.sleep(CHURN_PERIOD)
            index.set_slice({"metadata": {"name": "hl-0-a", "namespace": "default",
                                          "labels": {"kubernetes.io/service-name": "hl-0"}},
                             "addressType": "IPv4", "ports": [{"port": 80}],
                             "endpoints": [{"addresses": [f"10.250.0.{turn % 250 + 1}"]}]})

    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            if churn:
                group.create_task(endpoints_churn())
            await serve(handler, LOCAL, 0, ports.put)
    uvloop.run(main())


def run_kubeadmpy_dns_with_churn(services: int, cache: bool, ports: Any) -> None:
    run_kubeadmpy_dns(services, cache, ports, churn=True)


class StaticAnswer(asyncio.DatagramProtocol):
    """The reference: dnspython's minimal work for one static answer."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        query = dns.message.from_wire(data)
        reply = dns.message.make_response(query)
        reply.answer.append(dns.rrset.from_text(query.question[0].name, 30, "IN", "A",
                                                "10.96.0.1"))
        self.transport.sendto(reply.to_wire(), addr)


def run_reference(_services: int, _cache: bool, ports: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(StaticAnswer, local_addr=(LOCAL, 0))
        ports.put(transport.get_extra_info("sockname")[1])
        await asyncio.Event().wait()
    uvloop.run(main())


def load(port: int, queries: list[bytes], seconds: float, window: int) -> float:
    """Replies per second with `window` queries in flight."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((LOCAL, port))
    sock.settimeout(1.0)
    answered, sent, deadline = 0, 0, time.monotonic() + seconds
    started = time.monotonic()
    while time.monotonic() < deadline:
        for _ in range(window):
            sock.send(queries[sent % len(queries)])
            sent += 1
        for _ in range(window):
            try:
                sock.recv(4096)
                answered += 1
            except TimeoutError:
                break
    elapsed = time.monotonic() - started
    sock.close()
    return answered / elapsed


def measure(target: Callable[[int, bool, Any], None], services: int, cache: bool,
            queries: list[bytes], seconds: float, window: int) -> float:
    context = multiprocessing.get_context("fork")
    ports = context.Queue()
    process = context.Process(target=target, args=(services, cache, ports), daemon=True)
    process.start()
    try:
        port = ports.get(timeout=60)
        load(port, queries[:50], 0.3, window)  # warm up
        return load(port, queries, seconds, window)
    finally:
        process.terminate()
        process.join(10)


def wires(names: list[str], rdtype: str = "A") -> list[bytes]:
    return [dns.message.make_query(name, rdtype).to_wire() for name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--window", type=int, default=64)
    args = parser.parse_args()
    n = args.services
    every = wires([f"svc-{i}.default.svc.cluster.local" for i in range(n)])
    scenarios = [
        ("one name, reply cache", True, wires(["svc-1.default.svc.cluster.local"])),
        (f"{n} names in turn, reply cache", True, every),
        (f"{n} names in turn, no cache", False, every),
        (f"{n} names, cache, 100 slice updates/s", True, every),
        ("NXDOMAIN (search-list miss), no cache", False,
         wires([f"svc-{i}.default.svc.cluster.local.default.svc.cluster.local"
                for i in range(n)])),
        ("headless, 5 A records", True,
         wires([f"hl-{i}.default.svc.cluster.local" for i in range(n // 10)])),
    ]
    reference = measure(run_reference, n, False, wires(["svc-1.default.svc.cluster.local"]),
                        args.seconds, args.window)
    print(f"reference (dnspython static answer): {reference:10.0f} q/s")
    for label, cache, queries in scenarios:
        target = run_kubeadmpy_dns_with_churn if "updates/s" in label else run_kubeadmpy_dns
        rate = measure(target, n, cache, queries, args.seconds, args.window)
        print(f"kubeadmpy-dns, {label:38s} {rate:10.0f} q/s  ratio {rate / reference:5.2f}")


if __name__ == "__main__":
    main()
