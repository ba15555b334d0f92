"""Helpers shared by the lab's e2e tests and fixtures (names, leak checks)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from kubeadmpy import lab as labs
from kubeadmpy.lab import cleanup

LabFactory = Callable[..., labs.Lab]


def unique_lab_name(purpose: str) -> str:
    """A lab name no concurrent run uses (other engineers run labs on the same host)."""
    return f"{purpose[:12]}-{uuid.uuid4().hex[:6]}"


def assert_nothing_left(name: str, root: Path) -> None:
    found = cleanup.find_leftovers(name, root)
    assert found.empty, f"lab {name} left things behind: {found}"
    mounts = Path("/proc/self/mountinfo").read_text()
    assert f"kubeadmpy-lab.{name}." not in mounts
    assert str(root / name) not in mounts
