"""The built-in supervisor on real processes: start detached, report, restart, stop."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeadmpy.errors import UserInputError
from kubeadmpy.paths import HostPaths
from kubeadmpy.supervisor import ProcessSpec, Supervisor, SupervisorError

SLEEPER = ProcessSpec("sleeper", ("sleep", "3600"))
# Ignores SIGTERM, so only the SIGKILL after the stop timeout ends it.
STUBBORN = ProcessSpec("stubborn", ("sh", "-c", "trap '' TERM; while :; do sleep 1; done"))


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    sup = Supervisor(HostPaths(tmp_path))
    try:
        yield sup
    finally:
        for status in sup.known():
            sup.stop(status.name, timeout=1.0)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_started_process_runs_detached_with_a_pid_file_and_a_log(
        supervisor: Supervisor, tmp_path: Path) -> None:
    status = supervisor.start(ProcessSpec("talker", ("sh", "-c", "echo started; exec sleep 3600"),
                                          {"GREETING": "hi"}))
    assert status.running and status.pid is not None
    assert supervisor.pid_file("talker") == tmp_path / "run/kubeadmpy/talker.pid"
    assert int(supervisor.pid_file("talker").read_text()) == status.pid
    assert os.getsid(status.pid) == status.pid  # its own session: no terminal, no parent group
    for _ in range(100):
        if "started" in status.log_path.read_text():
            break
        time.sleep(0.05)
    assert status.log_path == tmp_path / "var/log/kubeadmpy/talker.log"
    assert "started" in status.log_path.read_text()
    environ = Path(f"/proc/{status.pid}/environ").read_bytes().split(b"\0")
    assert b"GREETING=hi" in environ


def test_starting_a_running_name_again_keeps_the_process(supervisor: Supervisor) -> None:
    first = supervisor.start(SLEEPER)
    assert supervisor.start(SLEEPER).pid == first.pid


def test_restart_replaces_the_process_with_the_same_command(supervisor: Supervisor) -> None:
    first = supervisor.start(SLEEPER)
    second = supervisor.restart("sleeper")
    assert second.running and second.pid != first.pid
    assert second.argv == SLEEPER.argv
    assert first.pid is not None and not alive(first.pid)


def test_stop_ends_the_process_and_removes_the_pid_file(supervisor: Supervisor) -> None:
    pid = supervisor.start(SLEEPER).pid
    assert supervisor.stop("sleeper") is True
    assert pid is not None and not alive(pid)
    assert not supervisor.pid_file("sleeper").exists()
    assert supervisor.status("sleeper").running is False
    assert supervisor.stop("sleeper") is False


def test_a_process_ignoring_sigterm_is_killed_after_the_timeout(supervisor: Supervisor) -> None:
    pid = supervisor.start(STUBBORN).pid
    assert supervisor.stop("stubborn", timeout=0.5) is True
    assert pid is not None and not alive(pid)


def test_a_process_that_exits_is_reported_not_running(supervisor: Supervisor) -> None:
    supervisor.start(ProcessSpec("brief", ("true",)))
    for _ in range(200):
        if not supervisor.status("brief").running:
            break
        time.sleep(0.05)
    assert supervisor.status("brief").running is False


def test_a_pid_file_naming_another_process_is_not_trusted(supervisor: Supervisor) -> None:
    supervisor.start(SLEEPER)
    supervisor.pid_file("sleeper").write_text(f"{os.getpid()}\n")  # a reused pid
    assert supervisor.status("sleeper").running is False


def test_a_missing_program_is_a_clear_error(supervisor: Supervisor) -> None:
    with pytest.raises(SupervisorError, match=r"/no/such/daemon.*No such file"):
        supervisor.start(ProcessSpec("ghost", ("/no/such/daemon",)))
    assert supervisor.status("ghost").running is False


@pytest.mark.parametrize("name", ["Upper", "has space", "-dash", ""], ids=[
    "upper case is refused", "spaces are refused", "a leading dash is refused",
    "an empty name is refused"])
def test_names_are_validated(supervisor: Supervisor, name: str) -> None:
    with pytest.raises(UserInputError, match="name"):
        supervisor.start(ProcessSpec(name, ("true",)))


@pytest.mark.parametrize("args", [[], ["pid", "log", "--"], ["pid", "log", "sleep", "1"]],
                         ids=["no arguments", "no program", "no -- separator"])
def test_the_launcher_refuses_bad_usage_before_forking(
        args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from kubeadmpy.supervisor import launch
    assert launch.main(args) == 2
    assert "usage: launch PIDFILE LOGFILE -- PROGRAM" in capsys.readouterr().err


def test_the_launcher_reports_an_unwritable_log_and_leaves_no_pid_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kubeadmpy.supervisor import launch
    pid_file = tmp_path / "sleeper.pid"
    log_file = tmp_path / "missing" / "log"
    assert launch.main([str(pid_file), str(log_file), "--", "sleep", "3600"]) == 1
    assert f"{log_file}: No such file or directory" in capsys.readouterr().err
    assert not pid_file.exists()


def test_the_launcher_names_a_pid_file_it_cannot_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kubeadmpy.supervisor import launch
    pid_file = tmp_path / "missing" / "sleeper.pid"
    assert launch.main([str(pid_file), str(tmp_path / "log"), "--", "sleep", "3600"]) == 1
    assert f"{pid_file}: No such file or directory" in capsys.readouterr().err
