"""Fixtures for the scheduler against real etcd + kubeadmpy-apiserver (the apiserver suite's
harness), with nodes registered by the test as API objects: simulated nodes, no kubelet."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from apiserver_harness import Certs, Cluster, start_cluster, stop_cluster

from kubeadmpy.client import Client, errors, load_kubeconfig


@pytest.fixture
def cluster(tmp_path: Path, certs: Certs) -> Iterator[Cluster]:
    """A private etcd + apiserver per test: nodes are cluster-wide, so tests must not share."""
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
async def scheduler_kubeconfig(cluster: Cluster) -> Path:
    """The kubeconfig the scheduler runs with: kubeadm's identity, user system:kube-scheduler
    with only the RBAC rights upstream gives it — unless this apiserver does not enforce RBAC
    yet (it then admits only system:masters and says so), in which case the admin's."""
    path = cluster.workdir / "scheduler.conf"
    path.write_text(cluster.certs.kubeconfig(cluster.apiserver.url, "system:kube-scheduler", ()))
    async with Client(load_kubeconfig(path)) as probe:
        try:
            await probe.list("nodes")
        except errors.Forbidden as exc:
            if "until RBAC is enabled" not in str(exc):
                raise
            return cluster.kubeconfig
    return path
