"""Fixtures of the kubelet node tests: per module one private containerd and one real etcd +
kubeadmpy-apiserver; per test a node name, a working folder and a namespace."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from kubelet_harness import Node, client_for, unique

from apiserver_harness import Cluster, make_certs, start_cluster, stop_cluster  # isort: skip
from kubeadmpy.client import Client
from kubeadmpy.cri.scratch import ScratchContainerd


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
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("kubelet-cluster")
    running = start_cluster(workdir, make_certs(workdir / "pki"))
    try:
        yield running
    finally:
        stop_cluster(running)
        shutil.rmtree(workdir / "etcd-data", ignore_errors=True)


def unmount_under(base: Path) -> None:
    prefix = str(base.resolve()) + "/"
    points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
              if line.split()[4].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)


@pytest.fixture
def node(runtime: ScratchContainerd, cluster: Cluster, tmp_path: Path) -> Iterator[Node]:
    made = Node(runtime, cluster, tmp_path, unique("node"))
    try:
        yield made
    finally:
        asyncio.run(runtime.remove_all_pods())
        unmount_under(tmp_path)  # tmpfs emptyDirs of pods the test left behind


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[Client]:
    async with client_for(cluster) as opened:
        yield opened


@pytest.fixture
async def namespace(client: Client) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    await client.create("namespaces", {"metadata": {"name": name}})
    return name
