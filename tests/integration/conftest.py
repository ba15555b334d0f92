"""Shared by every integration folder: the apiserver suite's harness on sys.path (once, here,
instead of a path hack per folder), one session PKI, and a private etcd + apiserver for tests
that restart or break things. Each folder keeps its own `cluster`, whose scope differs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "apiserver"))

from apiserver_harness import Certs, Cluster, make_certs, start_cluster, stop_cluster


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """One PKI for the session; tests only read it."""
    return make_certs(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def own_cluster(tmp_path: Path, certs: Certs) -> Iterator[Cluster]:
    """A private etcd + apiserver for tests that restart or break things."""
    running = start_cluster(tmp_path, certs)
    try:
        yield running
    finally:
        stop_cluster(running)
