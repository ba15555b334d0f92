"""Shared builders for the render tests: typical values, and golden-file comparison.

Set KUBEADMPY_UPDATE_GOLDEN=1 to rewrite the golden files from the current output; review the
diff before committing: the golden files are the statement of what kubeadm writes.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kubeadmpy.render import ControlPlaneValues, KubeletValues

GOLDEN_DIR = Path(__file__).parent / "golden"


def control_plane_values(**changes: Any) -> ControlPlaneValues:
    """A single control-plane node as `kubeadm init --pod-network-cidr 10.244.0.0/16` sees it."""
    base = ControlPlaneValues(
        flavor="upstream",
        kubernetes_version="v1.33.0",
        advertise_address="10.0.0.10",
        node_name="cp-1",
        pod_subnet="10.244.0.0/16",
    )
    return replace(base, **changes)


def kubelet_values(**changes: Any) -> KubeletValues:
    base = KubeletValues(flavor="upstream", node_name="cp-1", hostname="cp-1")
    return replace(base, **changes)


@pytest.fixture
def make_control_plane() -> Callable[..., ControlPlaneValues]:
    """Builder of `ControlPlaneValues`: typical values, keyword arguments replace fields."""
    return control_plane_values


@pytest.fixture
def make_kubelet() -> Callable[..., KubeletValues]:
    return kubelet_values


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare `text` with golden/<name>, showing a unified diff on mismatch."""

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if os.environ.get("KUBEADMPY_UPDATE_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        expected = path.read_text() if path.exists() else ""
        if text != expected:
            diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True),
                                                text.splitlines(keepends=True),
                                                f"golden/{name}", "rendered"))
            pytest.fail(f"rendered output differs from golden/{name}:\n{diff}", pytrace=False)

    return check
