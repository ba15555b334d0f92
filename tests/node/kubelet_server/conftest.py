"""A private containerd, the cluster PKI, a real etcd + apiserver (for TokenReview and
SubjectAccessReview) and a KubeletServer on free ports, all removed after the module."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "integration" / "apiserver"))

from apiserver_harness import Certs, Cluster, make_certs, start_cluster, stop_cluster
from kubelet_server_helpers import kubelet_server

from kubeadmpy.cri import CRIClient
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.kubelet.server import KubeletServer


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchContainerd]:
    scratch = ScratchContainerd(Path(tmp_path_factory.mktemp("containerd")))
    try:
        asyncio.run(scratch.start())
        yield scratch
    finally:
        problems = asyncio.run(scratch.close())
        assert not problems, problems


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[Cluster]:
    running = start_cluster(tmp_path_factory.mktemp("cluster"), certs)
    try:
        yield running
    finally:
        stop_cluster(running)


@pytest.fixture
async def cri(runtime: ScratchContainerd) -> AsyncIterator[CRIClient]:
    async with CRIClient(runtime.endpoint, timeout=30) as client:
        yield client


@pytest.fixture
async def server(cri: CRIClient, certs: Certs, tmp_path: Path) -> AsyncIterator[KubeletServer]:
    """A KubeletServer on the module's containerd, authorization AlwaysAllow: no apiserver."""
    async with kubelet_server(cri, certs, tmp_path) as running:
        yield running
