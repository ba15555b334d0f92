"""`kubeadmpy lab` as a user runs it: progress, next steps, status, ssh, inventory, down."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from lab_testing import assert_nothing_left, unique_lab_name


def kubeadmpy(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubeadmpy.cli.main", *args],
                          capture_output=True, text=True, timeout=120,
                          env={"KUBEADMPY_LAB_ROOT": str(root), "PATH": "/usr/sbin:/usr/bin:/bin"})


def test_a_user_brings_a_lab_up_uses_it_and_takes_it_down(lab_state_root: Path) -> None:
    name = unique_lab_name("cli")
    try:
        up = kubeadmpy("lab", "up", "--control-planes", "1", "--workers", "1", "--name", name,
                       root=lab_state_root)
        assert up.returncode == 0, up.stderr
        shown = up.stdout + up.stderr
        for machine in ("cp1", "w1"):
            assert any(machine in line and "ready" in line for line in shown.splitlines())
        assert "Next steps" in shown and f"kubeadmpy lab ssh cp1 --name {name}" in shown

        status = kubeadmpy("lab", "status", "--name", name, root=lab_state_root)
        assert status.returncode == 0
        rows = [line for line in status.stdout.splitlines() if "│ 10.213." in line]
        assert len(rows) == 2 and all("ready" in row for row in rows)

        remote = kubeadmpy("lab", "ssh", "w1", "--name", name, "--", "cat", "/etc/hostname",
                           root=lab_state_root)
        assert (remote.returncode, remote.stdout) == (0, "w1\n"), remote.stderr

        failed = kubeadmpy("lab", "ssh", "w1", "--name", name, "--", "exit 4", root=lab_state_root)
        assert failed.returncode == 4

        inventory = yaml.safe_load(kubeadmpy("lab", "inventory", "--name", name,
                                             root=lab_state_root).stdout)
        assert list(inventory["all"]["hosts"]) == ["cp1", "w1"]

        again = kubeadmpy("lab", "up", "--control-planes", "1", "--workers", "1", "--name", name,
                          root=lab_state_root)
        assert again.returncode == 0 and "already up" in again.stdout + again.stderr
    finally:
        down = kubeadmpy("lab", "down", "--name", name, root=lab_state_root)
    assert down.returncode == 0 and "removed" in down.stdout
    assert_nothing_left(name, lab_state_root)
    gone = kubeadmpy("lab", "status", "--name", name, root=lab_state_root)
    assert gone.returncode == 1 and f"no lab named '{name}'" in gone.stderr


@pytest.mark.parametrize("args,message", [
    (["up", "--control-planes", "0"], "--control-planes: 0 is too few"),
    (["up", "--workers", "-1"], "--workers: -1 is negative"),
    (["up", "--name", "Bad_Name"], "--name: 'Bad_Name' is not a valid name"),
    (["ssh", "cp9", "--name", "no-such-lab"], "no lab named 'no-such-lab'"),
], ids=["no control plane", "negative workers", "a name that is no DNS label",
        "ssh into a lab that does not exist"])
def test_bad_input_is_a_one_line_error_without_traceback(
        lab_state_root: Path, args: list[str], message: str) -> None:
    result = kubeadmpy("lab", *args, root=lab_state_root)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_down_of_a_lab_that_does_not_exist_is_a_harmless_no_op(lab_state_root: Path) -> None:
    result = kubeadmpy("lab", "down", "--name", unique_lab_name("never"), root=lab_state_root)
    assert result.returncode == 0 and "nothing to remove" in result.stdout
