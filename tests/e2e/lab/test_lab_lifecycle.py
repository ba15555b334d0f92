"""`up` and `down` leave the host as it was: twice-up is a no-op or a clear error, and `down`
removes every process, namespace, link, rule, cgroup and file, also after a SIGKILLed `up`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lab_testing import LabFactory, assert_nothing_left, unique_lab_name

from kubeadmpy import lab as labs
from kubeadmpy.lab import cleanup, hostnet, machine


def test_up_twice_with_the_same_machines_returns_the_running_lab(lab_factory: LabFactory) -> None:
    first = lab_factory("twice", control_planes=1, workers=1)
    again = labs.up(labs.LabSpec(name=first.name, control_planes=1, workers=1,
                                 state_root=first.directory.parent))
    assert first.created and not again.created
    assert [m.anchor_pid for m in again.machines] == [m.anchor_pid for m in first.machines]
    assert len(hostnet.list_netns()) == len(set(hostnet.list_netns()))
    assert len([n for n in hostnet.list_netns() if f".{first.name}." in n]) == 2


def test_up_with_other_machines_under_a_taken_name_is_a_clear_error(
        lab_factory: LabFactory) -> None:
    first = lab_factory("taken", control_planes=1)
    with pytest.raises(labs.LabExistsError, match=f"lab down --name {first.name}"):
        labs.up(labs.LabSpec(name=first.name, control_planes=2,
                             state_root=first.directory.parent))
    assert [s.reachable for s in first.status()] == [True]


def test_down_removes_processes_namespaces_links_seal_cgroups_and_state(
        lab_state_root: Path) -> None:
    name = unique_lab_name("down")
    try:
        made = labs.up(labs.LabSpec(name=name, control_planes=1, workers=2,
                                    state_root=lab_state_root))
        with made.host("w1") as host:  # a long-running process started over SSH must die too
            host.run("setsid sleep 600 >/dev/null 2>&1 < /dev/null &", check=True)
        pids = [m.anchor_pid for m in made.machines]
        assert hostnet.seal_table(name) in hostnet.list_seal_tables()
    finally:
        found = labs.down(name, lab_state_root)
    assert len(found.netns) == 3 and found.seal_tables
    assert not any(pid and machine.process_alive(pid) for pid in pids)
    assert hostnet.seal_table(name) not in hostnet.list_seal_tables()
    assert_nothing_left(name, lab_state_root)
    assert labs.down(name, lab_state_root).empty  # a second down finds nothing and is fine


def test_labs_made_at_the_same_time_get_separate_subnets_and_bridges(
        lab_state_root: Path) -> None:
    names = [unique_lab_name("parallel") for _ in range(3)]
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            made = list(pool.map(lambda name: labs.up(labs.LabSpec(
                name=name, workers=1, state_root=lab_state_root)), names))
        assert len({lab.manifest.subnet for lab in made}) == 3
        assert len({lab.manifest.bridge for lab in made}) == 3
        for each in made:
            with each.host("w1") as host:
                assert host.run(["getent", "hosts", "cp1"], check=True).stdout.split()[0] == (
                    each.machine("cp1").ip)
    finally:
        for name in names:
            labs.down(name, lab_state_root)
    for name in names:
        assert_nothing_left(name, lab_state_root)


KILLED_UP = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from kubeadmpy import lab
    name, root, stage, machine = sys.argv[1:5]
    def progress(each, reached):
        if (each, reached) == (machine, stage):
            os.kill(os.getpid(), signal.SIGKILL)
    lab.up(lab.LabSpec(name=name, control_planes=1, workers=3, state_root=Path(root)), progress)
""")


def remove_tree_while_anchors_write(path: Path) -> None:
    """rm -rf, retried: anchors launched before the kill may still be writing their files."""
    for _ in range(50):
        if subprocess.run(["rm", "-rf", str(path)], capture_output=True).returncode == 0:
            return
        time.sleep(0.02)
    raise AssertionError(f"could not remove {path}")


@pytest.mark.parametrize("stage,machine_name", [
    ("planned", "cp1"),   # manifest written, host lock held, nothing created yet
    ("wired", "w3"),      # namespaces, links and seal exist, no machine started
    ("starting", "w1"),   # two anchors launched, the rest not
    ("ready", "cp1"),     # one machine answers over SSH, the others are starting
], ids=["after the manifest", "after the network", "while machines start",
        "after the first machine is ready"])
@pytest.mark.parametrize("manifest_survives", [True, False],
                         ids=["with its manifest", "without any state directory"])
def test_down_cleans_up_after_up_is_killed_midway(
        lab_state_root: Path, stage: str, machine_name: str, manifest_survives: bool) -> None:
    name = unique_lab_name("killed")
    try:
        killed = subprocess.run(
            [sys.executable, "-c", KILLED_UP, name, str(lab_state_root), stage, machine_name],
            capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[3])
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        if not manifest_survives:
            remove_tree_while_anchors_write(lab_state_root / name)
        if stage != "planned":
            assert name in cleanup.lab_names_on_host(lab_state_root)  # what `down --all` uses
    finally:
        down = subprocess.run([sys.executable, "-m", "kubeadmpy.cli.main", "lab", "down",
                               "--name", name, "--state-root", str(lab_state_root)],
                              capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert_nothing_left(name, lab_state_root)


def test_machine_processes_survive_the_command_that_made_them(lab: labs.Lab) -> None:
    for each in lab.machines:
        assert each.anchor_pid and machine.process_alive(each.anchor_pid)
        assert os.getpgid(each.anchor_pid) != os.getpgid(0)


def test_a_machine_that_cannot_start_fails_up_with_its_log_and_leaves_nothing(
        lab_state_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "SSHD", "/nonexistent/sshd")
    name = unique_lab_name("broken")
    with pytest.raises(labs.LabError, match=r"machine cp1: its anchor exited.*nonexistent/sshd"):
        labs.up(labs.LabSpec(name=name, workers=1, state_root=lab_state_root, ready_timeout=20))
    assert_nothing_left(name, lab_state_root)
