"""Fixtures for the client tests: the apiserver suite's real etcd + kubeadmpy-apiserver harness,
a client per test and a namespace per test."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from client_harness import client_for, start_small_window_cluster

from apiserver_harness import Certs, Cluster, start_cluster, stop_cluster  # isort: skip
from kubeadmpy.client import Client


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[Cluster]:
    """One etcd + apiserver shared by tests that each work in their own namespace."""
    workdir = tmp_path_factory.mktemp("client-cluster")
    running = start_cluster(workdir, certs)
    try:
        yield running
    finally:
        stop_cluster(running)
        shutil.rmtree(workdir / "etcd-data", ignore_errors=True)


@pytest.fixture
def small_window_cluster(tmp_path: Path, certs: Certs) -> Iterator[Cluster]:
    running = start_small_window_cluster(tmp_path, certs)
    try:
        yield running
    finally:
        stop_cluster(running)


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[Client]:
    async with client_for(cluster) as opened:
        yield opened


@pytest.fixture
async def namespace(client: Client) -> AsyncIterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    await client.create("namespaces", {"metadata": {"name": name}})
    yield name
