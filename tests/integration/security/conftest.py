"""Fixtures for the security integration tests: a private etcd per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from security_etcd import Etcd, start_etcd, stop_etcd


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Etcd]:
    server = start_etcd(Path(tmp_path_factory.mktemp("security-etcd")))
    try:
        yield server
    finally:
        stop_etcd(server)
