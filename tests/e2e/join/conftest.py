"""Fixtures for `kubeadmpy join` end to end: a lab of one control plane and one worker.

The helpers that drive a machine over SSH (`Node`, `wait_for`) are init's, imported from
tests/e2e/init; the lab's leak checks are the lab tests'. Every machine is reset and the lab
removed afterwards, also when the test fails, and nothing may be left on the host
(`join_lab.two_node_lab_up`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "init"))

from join_lab import TwoNodeLab, two_node_lab_up


@pytest.fixture
def two_node_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodeLab]:
    if os.geteuid() != 0:
        pytest.skip("lab machines need root")
    with two_node_lab_up(tmp_path_factory.mktemp("join-labs")) as lab:
        yield lab
