"""Fixtures for the Ansible playbooks end to end: a private lab of one control plane and one worker.

The lab is the join e2e's (`two_node_lab_up`): a unique name, and removed afterwards also when
the test fails: every machine reset first (pods stopped through the runtime), then `lab down`,
then nothing of it may be left on the host. Ansible gets its own home, and no ControlPersist
masters outlive the test.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "init"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "join"))

from join_lab import two_node_lab_up

from kubeadmpy import lab as labs


@pytest.fixture
def ansible_env(tmp_path: Path) -> dict[str, str]:
    """Own Ansible home; pipelining (one SSH connection per task) and no ControlPersist."""
    return {**os.environ, "ANSIBLE_HOME": str(tmp_path / "ansible-home"), "ANSIBLE_SSH_ARGS": "",
            "ANSIBLE_PIPELINING": "1", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_DEPRECATION_WARNINGS": "0", "ANSIBLE_RETRY_FILES_ENABLED": "0"}


@pytest.fixture
def ansible_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[labs.Lab]:
    if os.geteuid() != 0:
        pytest.skip("lab machines need root")
    with two_node_lab_up(tmp_path_factory.mktemp("ansible-labs"), "ansible") as two_nodes:
        yield two_nodes.cp.lab
