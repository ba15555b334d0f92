"""Fixtures: a shared etcd + apiserver for scenario tests, private ones for tests that break
things, and the kubectl versions every scenario runs with."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from apiserver_harness import (
    KUBECTL_VERSIONS,
    Certs,
    Cluster,
    start_cluster,
    stop_cluster,
)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[Cluster]:
    """One etcd + apiserver shared by the read-mostly scenario tests (each uses its own names)."""
    workdir = tmp_path_factory.mktemp("cluster")
    running = start_cluster(workdir, certs)
    try:
        yield running
    finally:
        stop_cluster(running)
        shutil.rmtree(workdir / "etcd-data", ignore_errors=True)


@pytest.fixture(params=sorted(KUBECTL_VERSIONS), ids=lambda v: f"kubectl-{v}")
def kubectl_version(request: pytest.FixtureRequest) -> str:
    return str(request.param)
