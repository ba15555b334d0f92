"""Fixtures for the workload controllers against real etcd + kubeadmpy-apiserver (the apiserver
suite's harness) and the real kubectl. No kubelet exists yet: tests register simulated nodes as
API objects and act as the kubelet themselves where a pod must become Ready."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator

import pytest
from apiserver_harness import Certs, Cluster, start_cluster, stop_cluster
from workloads_harness import manager_settings

from kubeadmpy.client import Client, RunningComponent, load_kubeconfig
from kubeadmpy.controllers.manager import Manager, run


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[Cluster]:
    """One etcd + apiserver per test module; tests use their own namespaces."""
    workdir = tmp_path_factory.mktemp("controllers-cluster")
    running = start_cluster(workdir, certs)
    try:
        yield running
    finally:
        stop_cluster(running)
        shutil.rmtree(workdir / "etcd-data", ignore_errors=True)


@pytest.fixture
async def admin(cluster: Cluster) -> AsyncIterator[Client]:
    async with Client(load_kubeconfig(cluster.kubeconfig).with_overrides(qps=0)) as client:
        yield client


@pytest.fixture
async def controller_manager(cluster: Cluster) -> AsyncIterator[Manager]:
    """kubeadmpy-controller-manager in this process (no leader election), all controllers on."""
    managers: list[Manager] = []
    state = RunningComponent()
    task = asyncio.create_task(run(manager_settings(cluster.kubeconfig), state, managers))
    try:
        for _ in range(600):
            if (managers and managers[-1].started.is_set()) or task.done():
                break
            await asyncio.sleep(0.05)
        if task.done():
            task.result()
        assert managers, "the controller-manager did not start"
        yield managers[-1]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
