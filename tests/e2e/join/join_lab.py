"""The two machines of the join e2e lab (a separate module so tests can import the type), and
bringing such a lab up and down."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from init_e2e import Node
from lab_testing import assert_nothing_left, unique_lab_name

from kubeadmpy import lab as labs
from kubeadmpy.lab.machine import CGROUP_ROOT, process_alive

JOIN_COMMAND = re.compile(
    r"kubeadmpy join (?P<endpoint>\S+) --token (?P<token>\S+) \\\s+"
    r"--discovery-token-ca-cert-hash (?P<hash>sha256:[0-9a-f]{64})"
)


@dataclass
class TwoNodeLab:
    cp: Node
    worker: Node


def _remove_container_cgroups(containers: list[str]) -> None:
    """Containers' cgroups (cgroupfs driver) under /k8s.io in each host hierarchy."""
    for hierarchy in CGROUP_ROOT.iterdir():
        for container in containers:
            with contextlib.suppress(OSError):
                (hierarchy / "k8s.io" / container).rmdir()


@contextlib.contextmanager
def two_node_lab_up(root: Path, purpose: str = "join") -> Iterator[TwoNodeLab]:
    """cp1 + w1. Every machine is reset (the worker first, as a user would) and the lab removed
    afterwards, also when the test fails, and nothing may be left on the host."""
    name = unique_lab_name(purpose)
    tasks: dict[str, int] = {}
    nodes: list[Node] = []
    try:
        lab = labs.up(labs.LabSpec(name=name, control_planes=1, workers=1, state_root=root))
        nodes = [Node(lab, "cp1", lab.host("cp1")), Node(lab, "w1", lab.host("w1"))]
        yield TwoNodeLab(*nodes)
    finally:
        for node in reversed(nodes):
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
