"""The probe manager's timing, on a clock the test moves: initialDelaySeconds, periodSeconds,
successThreshold and failureThreshold, with a tcpSocket probe against a loopback listener."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from kubeadmpy.client import FakeClock
from kubeadmpy.cri import CRIClient
from kubeadmpy.kubelet.probes import ProbeManager


@pytest.fixture
async def listener() -> AsyncIterator[tuple[asyncio.Server, int]]:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield server, port
    finally:
        server.close()


async def settled(clock: FakeClock, manager_tasks: int = 1) -> None:
    """Until every worker sleeps on the clock again (its probe attempt is over)."""
    for _ in range(500):
        await asyncio.sleep(0.01)
        if clock.waiters >= manager_tasks:
            return
    raise AssertionError("the probe worker never went back to sleep")


async def test_readiness_waits_the_initial_delay_and_counts_thresholds(
        listener: tuple[asyncio.Server, int]) -> None:
    server, port = listener
    clock = FakeClock()
    changes: list[str] = []
    # tcp probes never use the runtime: a client on a socket nobody serves is enough
    async with CRIClient("unix:///nonexistent/kubeadmpy-test.sock") as cri:
        manager = ProbeManager(cri, clock, on_change=changes.append)
        pod = {"metadata": {"uid": "u1", "name": "p", "namespace": "default"},
               "spec": {"containers": [{"name": "c", "readinessProbe": {
                   "tcpSocket": {"port": port}, "initialDelaySeconds": 10,
                   "periodSeconds": 5, "successThreshold": 2, "failureThreshold": 3}}]}}
        manager.add_pod(pod, {"c": "cid"}, "127.0.0.1")
        try:
            await settled(clock)
            clock.advance(9.9)
            await settled(clock)
            assert not manager.is_ready("u1", "c")  # no attempt before the initial delay
            clock.advance(0.1)
            await settled(clock)
            assert not manager.is_ready("u1", "c")  # one success of the two needed
            clock.advance(5)
            await settled(clock)
            assert manager.is_ready("u1", "c")
            server.close()
            await server.wait_closed()
            for _ in range(2):
                clock.advance(5)
                await settled(clock)
                assert manager.is_ready("u1", "c")  # failures 1 and 2 of 3
            clock.advance(5)
            await settled(clock)
            assert not manager.is_ready("u1", "c")
        finally:
            await manager.close()
    assert changes.count("u1") == 3  # container started, ready, not ready



async def test_adding_a_pod_again_keeps_the_results_of_unchanged_containers(
        listener: tuple[asyncio.Server, int]) -> None:
    _, port = listener
    clock = FakeClock()
    async with CRIClient("unix:///nonexistent/kubeadmpy-test.sock") as cri:
        manager = ProbeManager(cri, clock)
        pod = {"metadata": {"uid": "u1", "name": "p", "namespace": "default"},
               "spec": {"containers": [{"name": "c", "readinessProbe": {
                   "tcpSocket": {"port": port}, "periodSeconds": 5}}]}}
        manager.add_pod(pod, {"c": "cid-1"}, "127.0.0.1")
        try:
            await settled(clock)
            assert manager.is_ready("u1", "c")  # first attempt at once (no initial delay)
            manager.add_pod(pod, {"c": "cid-1"}, "127.0.0.1")  # e.g. another container moved
            assert manager.is_ready("u1", "c")
            manager.add_pod(pod, {"c": "cid-2"}, "127.0.0.1")  # restarted: probed anew
            assert not manager.is_ready("u1", "c")
            await settled(clock)
            assert manager.is_ready("u1", "c")
        finally:
            await manager.close()
