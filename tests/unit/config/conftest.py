"""Shared helpers for config tests: fixed node facts and a writer for config files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from kubeadmpy.config import NodeFacts

FACTS = NodeFacts(hostname="Node-1", advertise_address="10.0.0.10")


@pytest.fixture(scope="session")
def facts() -> NodeFacts:
    """Fixed facts of a node named Node-1 with address 10.0.0.10 (data only, never contacted)."""
    return FACTS


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write dedented YAML to kubeadm.yaml in a fresh directory and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "kubeadm.yaml"
        path.write_text(dedent(text).lstrip())
        return path

    return write
