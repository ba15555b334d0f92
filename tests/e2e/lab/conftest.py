"""Lab fixtures for e2e tests: real namespaces, real sshd, reached with paramiko and OpenSSH.

`lab` is one 3-machine lab (cp1, w1, w2) shared by the whole session, because bringing labs up
and down for every test would dominate the suite's run time. `lab_factory` makes private labs
for tests that break or remove them. Both remove everything they made, also when a test fails,
and check that nothing of their labs is left on the host.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_testing import LabFactory, assert_nothing_left, unique_lab_name

from kubeadmpy import lab as labs


@pytest.fixture(scope="session")
def lab_state_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    return tmp_path_factory.mktemp("labs")


@pytest.fixture(scope="session")
def lab_shape() -> tuple[int, int]:
    """(control planes, workers) of the shared `lab`; override it in a conftest for another."""
    return 1, 2


@pytest.fixture(scope="session")
def lab(lab_state_root: Path, lab_shape: tuple[int, int]) -> Iterator[labs.Lab]:
    """A running lab shared by the session: cp1 (control plane), w1 and w2 (workers)."""
    name = unique_lab_name("e2e")
    control_planes, workers = lab_shape
    try:
        yield labs.up(labs.LabSpec(name=name, control_planes=control_planes, workers=workers,
                                   state_root=lab_state_root))
    finally:
        labs.down(name, lab_state_root)
    assert_nothing_left(name, lab_state_root)


@pytest.fixture
def lab_factory(lab_state_root: Path) -> Iterator[LabFactory]:
    """Make labs with `lab_factory(purpose, control_planes=..., workers=...)`; all removed after."""
    made: list[str] = []

    def make(purpose: str, control_planes: int = 1, workers: int = 0) -> labs.Lab:
        name = unique_lab_name(purpose)
        made.append(name)
        return labs.up(labs.LabSpec(name=name, control_planes=control_planes, workers=workers,
                                    state_root=lab_state_root))

    try:
        yield make
    finally:
        # Every lab is taken down even if taking down an earlier one fails.
        with contextlib.ExitStack() as stack:
            for name in made:
                stack.callback(labs.down, name, lab_state_root)
    for name in made:
        assert_nothing_left(name, lab_state_root)
