"""Fixtures for the cluster controllers against real etcd + kubeadmpy-apiserver (the apiserver
suite's harness): a private cluster per test (nodes, namespaces and CSRs are cluster-wide) and
an admin client."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cluster_controllers_harness import SimulatedNodes, simulated_nodes

from apiserver_harness import Certs, Cluster, start_cluster, stop_cluster  # isort: skip
from kubeadmpy.client import Client, load_kubeconfig


@pytest.fixture
def cluster(tmp_path: Path, certs: Certs) -> Iterator[Cluster]:
    running = start_cluster(tmp_path, certs)
    try:
        yield running
    finally:
        stop_cluster(running)
        shutil.rmtree(tmp_path / "etcd-data", ignore_errors=True)


@pytest.fixture
async def admin(cluster: Cluster) -> AsyncIterator[Client]:
    async with Client(load_kubeconfig(cluster.kubeconfig).with_overrides(qps=0)) as client:
        yield client


@pytest.fixture
async def nodes(admin: Client) -> AsyncIterator[SimulatedNodes]:
    async with simulated_nodes(admin) as simulated:
        yield simulated
