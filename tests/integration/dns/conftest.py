"""kubeadmpy-dns as a real process in front of each test's private etcd + apiserver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apiserver_harness import Cluster
from dns_process import RunningDns, launched


@pytest.fixture
def cluster_dns(own_cluster: Cluster, tmp_path: Path) -> Iterator[RunningDns]:
    with launched(own_cluster, tmp_path) as running:
        yield running
