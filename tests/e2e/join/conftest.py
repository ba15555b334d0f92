"""Fixtures for `kubeadmpy join` end to end: a lab of one control plane and one worker.

The helpers that drive a machine over SSH (`Node`, `wait_for`) are init's, imported from
tests/e2e/init; the lab's leak checks are the lab tests'. Every machine is reset and the lab
removed afterwards, also when the test fails, and nothing may be left on the host.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "init"))

from init_e2e import Node
from join_lab import TwoNodeLab
from lab_testing import assert_nothing_left, unique_lab_name

from kubeadmpy import lab as labs
from kubeadmpy.lab.machine import CGROUP_ROOT, process_alive


def _remove_container_cgroups(containers: list[str]) -> None:
    """Containers' cgroups (cgroupfs driver) under /k8s.io in each host hierarchy."""
    for hierarchy in CGROUP_ROOT.iterdir():
        for container in containers:
            with contextlib.suppress(OSError):
                (hierarchy / "k8s.io" / container).rmdir()


@pytest.fixture
def two_node_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodeLab]:
    if os.geteuid() != 0:
        pytest.skip("lab machines need root")
    root = tmp_path_factory.mktemp("join-labs")
    name = unique_lab_name("join")
    tasks: dict[str, int] = {}
    nodes: list[Node] = []
    try:
        lab = labs.up(labs.LabSpec(name=name, control_planes=1, workers=1, state_root=root))
        nodes = [Node(lab, "cp1", lab.host("cp1")), Node(lab, "w1", lab.host("w1"))]
        yield TwoNodeLab(*nodes)
    finally:
        for node in reversed(nodes):  # the worker first, as a user would
            with contextlib.suppress(Exception):
                tasks.update(node.containerd_tasks())
                node.sh("kubeadmpy reset --force", timeout=120)
            node.host.close()
        try:
            labs.down(name, root)
        finally:
            deadline = time.monotonic() + 5.0
            while ((alive := [p for p in tasks.values() if process_alive(p)])
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            _remove_container_cgroups(list(tasks))
    assert_nothing_left(name, root)
    assert not alive, f"containers of lab {name} outlived it: pids {alive}"
