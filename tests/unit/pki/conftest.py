"""Fixtures for PKI unit tests: settings, a generated PKI tree, and disk snapshots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kubeadmpy.pki import PKISettings, ensure_certs, ensure_kubeconfigs

Snapshot = dict[str, tuple[bytes, int]]


def snapshot_tree(root: Path) -> Snapshot:
    """Every file under `root`: relative path → (content, permission bits)."""
    return {
        str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mode & 0o777)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def settings() -> PKISettings:
    return PKISettings(node_name="node1", advertise_address="192.168.1.10")


@pytest.fixture
def kube_dir(tmp_path: Path) -> Path:
    return tmp_path / "etc" / "kubernetes"


@pytest.fixture
def cert_dir(kube_dir: Path) -> Path:
    return kube_dir / "pki"


@pytest.fixture
def cluster(settings: PKISettings, cert_dir: Path, kube_dir: Path) -> Path:
    """A full PKI and every kubeconfig, generated with `settings`; returns the kube dir."""
    ensure_certs(settings, cert_dir)
    ensure_kubeconfigs(settings, cert_dir, kube_dir)
    return kube_dir


@pytest.fixture
def snapshot() -> Callable[[Path], Snapshot]:
    return snapshot_tree
