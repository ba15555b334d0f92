"""Fixtures for `kubeadmpy init` end to end: lab machines with a real cluster inside.

`cluster` is one machine initialised once for the whole session (init is the expensive part), with
workloads allowed on it and the busybox test image imported; tests that only run workloads share
it. `fresh_machine` is a private, uninitialised machine for tests that reset, re-init or break
init. Every machine is reset (pods removed through CRI) and its lab removed afterwards, also when
a test fails, and the lab leaves nothing behind on the host.
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

from init_e2e import Cluster, Node
from lab_testing import assert_nothing_left, unique_lab_name

from kubeadmpy import lab as labs
from kubeadmpy.lab.machine import CGROUP_ROOT, process_alive


@pytest.fixture(scope="session")
def init_labs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.geteuid() != 0:
        pytest.skip("lab machines need root")
    return tmp_path_factory.mktemp("init-labs")


@contextlib.contextmanager
def lab_machine(root: Path, purpose: str, reset_first: bool = True) -> Iterator[Node]:
    """A one-machine lab; with `reset_first` the pods are removed through the runtime before
    the lab goes, as a user would before deleting a VM; without, `lab down` alone must remove
    every container (and is checked to)."""
    name = unique_lab_name(purpose)
    tasks: dict[str, int] = {}
    try:
        lab = labs.up(labs.LabSpec(name=name, control_planes=1, state_root=root))
        host = lab.host("cp1")
        node = Node(lab, "cp1", host)
        try:
            yield node
        finally:
            with contextlib.suppress(Exception):
                tasks = node.containerd_tasks()
                if reset_first:
                    host.run("kubeadmpy reset --force", timeout=120)
            host.close()
    finally:
        try:
            labs.down(name, root)
        finally:
            # Also when `down` fails: killed processes may linger a moment as zombies until
            # they are reaped; then their empty cgroups can go, so none is left on the host.
            deadline = time.monotonic() + 5.0
            while ((alive := [p for p in tasks.values() if process_alive(p)])
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            remove_container_cgroups(tasks)
    assert_nothing_left(name, root)
    assert not alive, f"containers of lab {name} outlived it: pids {alive}"


def remove_container_cgroups(tasks: dict[str, int]) -> None:
    """containerd puts containers in /k8s.io/<id> of the host's hierarchies (cgroupfs driver);
    a lab removed without `reset` leaves those empty cgroups behind, so the test removes them."""
    for hierarchy in CGROUP_ROOT.iterdir():
        for container in tasks:
            with contextlib.suppress(OSError):
                (hierarchy / "k8s.io" / container).rmdir()


@pytest.fixture(scope="session")
def cluster(init_labs_root: Path) -> Iterator[Cluster]:
    with lab_machine(init_labs_root, "init", reset_first=False) as node:
        result = node.init()
        node.wait_node_ready()
        node.allow_workloads()
        cluster = Cluster(node, result.stdout, node.import_busybox())
        yield cluster
        # A pod on the pod network left running: `lab down` must still remove its containers.
        node.kubectl("run", "left-running", f"--image={cluster.busybox}", "--", "sleep", "3600")
        node.kubectl("wait", "--for=condition=Ready", "pod/left-running", "--timeout=60s")


@pytest.fixture
def fresh_machine(init_labs_root: Path) -> Iterator[Node]:
    with lab_machine(init_labs_root, "reinit") as node:
        yield node
