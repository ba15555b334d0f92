"""Every playbook in the repository passes `ansible-playbook --syntax-check` (no machine is needed).

That covers the plays, every role they use (task files, templates' names, defaults) and the
molecule scenario's playbooks, which molecule would otherwise check only when it runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = sorted([*(REPO / "playbooks").glob("*.yml"), *(REPO / "molecule").glob("*/*.yml")])
PLAYBOOKS = [p for p in PLAYBOOKS if p.name != "molecule.yml"]  # molecule's config, not a play
LAB_SAMPLE = REPO / "inventory" / "lab" / "hosts.yaml"

pytestmark = pytest.mark.skipif(shutil.which("ansible-playbook") is None,
                                reason="ansible-core missing")


def test_the_expected_playbooks_exist() -> None:
    names = {str(p.relative_to(REPO)) for p in PLAYBOOKS}
    assert {"playbooks/cluster.yml", "playbooks/reset.yml", "playbooks/scale.yml",
            "molecule/default/create.yml", "molecule/default/converge.yml",
            "molecule/default/destroy.yml"} <= names


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: f"{p.parent.name}/{p.name} parses")
def test_playbook_passes_the_syntax_check(playbook: Path, tmp_path: Path) -> None:
    env = {**os.environ, "ANSIBLE_HOME": str(tmp_path), "ANSIBLE_NOCOLOR": "1"}
    checked = subprocess.run(["ansible-playbook", "--syntax-check", "-i", str(LAB_SAMPLE),
                              str(playbook)], capture_output=True, text=True, env=env, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "[WARNING]" not in checked.stderr, checked.stderr
