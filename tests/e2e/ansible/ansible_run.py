"""Running the repository's playbooks and testinfra checks as a user would, and reading the recap."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = REPO / "playbooks"
TESTINFRA_CHECKS = REPO / "molecule" / "default" / "tests"
NEEDS_ANSIBLE = pytest.mark.skipif(shutil.which("ansible-playbook") is None,
                                   reason="ansible-core missing")
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$", re.MULTILINE)


@dataclass(frozen=True)
class PlaybookRun:
    returncode: int
    output: str

    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP as {host: {ok: n, changed: n, failed: n, ...}}."""
        text = self.output.rpartition("PLAY RECAP")[2]
        return {m["host"]: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m["counts"])}
                for m in RECAP_LINE.finditer(text)}


def run_playbook(name: str, inventory: Path, env: dict[str, str], *extra: str,
                 timeout: float = 900) -> PlaybookRun:
    done = subprocess.run(["ansible-playbook", "-i", str(inventory), str(PLAYBOOKS / name), *extra],
                          capture_output=True, text=True, env=env, timeout=timeout)
    return PlaybookRun(done.returncode, done.stdout + done.stderr)


def run_testinfra(inventory: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The molecule scenario's testinfra checks, with the Ansible inventory backend."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--hosts=ansible://all", f"--ansible-inventory={inventory}", str(TESTINFRA_CHECKS)],
        capture_output=True, text=True, env=env, timeout=600, cwd=TESTINFRA_CHECKS)
