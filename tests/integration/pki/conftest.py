"""Fixtures for PKI integration tests: a generated node tree under a root directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeadmpy.pki import PKISettings, ensure_certs, ensure_kubeconfigs


@pytest.fixture
def root_dir(tmp_path: Path) -> Path:
    """A --root-dir holding a full PKI and every kubeconfig (ECDSA-P256, node1 on loopback)."""
    settings = PKISettings(node_name="node1", advertise_address="127.0.0.1")
    ensure_certs(settings, tmp_path / "etc/kubernetes/pki")
    ensure_kubeconfigs(settings, tmp_path / "etc/kubernetes/pki", tmp_path / "etc/kubernetes")
    return tmp_path


@pytest.fixture
def pki_dir(root_dir: Path) -> Path:
    return root_dir / "etc/kubernetes/pki"
