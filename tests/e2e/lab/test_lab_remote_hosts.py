"""One `Host` contract, two implementations: the same behaviour on this machine and over SSH."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeadmpy import lab as labs
from kubeadmpy.remote import (
    CommandFailedError,
    CommandTimeoutError,
    Host,
    LocalHost,
    RemoteFileError,
    prefixed_printer,
    run_on_all,
)


@pytest.fixture(params=["local", "ssh"], ids=["on this machine", "over ssh to a lab machine"])
def host_and_scratch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Host, str]]:
    if request.param == "local":
        yield LocalHost("local"), str(tmp_path)
        return
    lab: labs.Lab = request.getfixturevalue("lab")
    scratch = f"/var/lib/kubeadmpy/scratch-{uuid.uuid4().hex[:8]}"
    with lab.host("w1") as host:
        try:
            yield host, scratch
        finally:
            host.run(["rm", "-rf", scratch])


def test_a_command_reports_exit_code_stdout_and_stderr_separately(
        host_and_scratch: tuple[Host, str]) -> None:
    host, _ = host_and_scratch
    result = host.run("echo out; echo err >&2; exit 3")
    assert (result.exit_code, result.stdout, result.stderr, result.ok) == (3, "out\n", "err\n", False)


def test_check_turns_a_failure_into_an_error_naming_host_command_and_stderr(
        host_and_scratch: tuple[Host, str]) -> None:
    host, _ = host_and_scratch
    with pytest.raises(CommandFailedError) as caught:
        host.run("echo broken >&2; exit 7", check=True)
    assert caught.value.exit_code == 7
    assert host.name in str(caught.value) and "broken" in str(caught.value)


def test_argument_lists_are_quoted_for_the_remote_shell(host_and_scratch: tuple[Host, str]) -> None:
    host, _ = host_and_scratch
    result = host.run(["printf", "%s|", "two words", "it's", "$HOME", "a;b"], check=True)
    assert result.stdout == "two words|it's|$HOME|a;b|"


def test_input_reaches_the_command(host_and_scratch: tuple[Host, str]) -> None:
    host, _ = host_and_scratch
    assert host.run("tr a-z A-Z", stdin="hello\n", check=True).stdout == "HELLO\n"


def test_long_output_streams_line_by_line_with_a_host_prefix(
        host_and_scratch: tuple[Host, str]) -> None:
    host, _ = host_and_scratch
    out, err = io.StringIO(), io.StringIO()
    result = host.run("seq 1 20000; echo oops >&2; printf tail", check=True,
                      on_output=prefixed_printer(host.name, out, err))
    lines = out.getvalue().splitlines()
    assert len(lines) == 20001
    assert lines[0] == f"[{host.name}] 1" and lines[19999] == f"[{host.name}] 20000"
    assert lines[-1] == f"[{host.name}] tail"
    assert err.getvalue() == f"[{host.name}] oops\n"
    assert result.stdout.endswith("19999\n20000\ntail")


def test_a_command_over_its_timeout_is_stopped_with_a_clear_error(
        host_and_scratch: tuple[Host, str]) -> None:
    host, _ = host_and_scratch
    with pytest.raises(CommandTimeoutError, match="timed out"):
        host.run("sleep 30", timeout=0.5)
    assert host.run("echo still usable", check=True).stdout == "still usable\n"


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o755])
def test_put_writes_content_and_mode_creating_parents(
        host_and_scratch: tuple[Host, str], mode: int) -> None:
    host, scratch = host_and_scratch
    path = f"{scratch}/deep/er/file-{mode:o}"
    host.put(b"\x00binary\xffdata", path, mode)
    assert host.get(path) == b"\x00binary\xffdata"
    assert host.run(["stat", "-c", "%a", path], check=True).stdout.strip() == f"{mode:o}"
    assert host.run(["ls", "-A", f"{scratch}/deep/er"], check=True).stdout.split() == [
        f"file-{mode:o}"]  # no temporary file left behind


def test_files_round_trip_between_local_paths_and_the_host(
        host_and_scratch: tuple[Host, str], tmp_path: Path) -> None:
    host, scratch = host_and_scratch
    source = tmp_path / "source.sh"
    source.write_text("#!/bin/sh\necho hi\n")
    source.chmod(0o750)
    host.put_file(source, f"{scratch}/copy.sh")
    assert host.run(f"{scratch}/copy.sh", check=True).stdout == "hi\n"
    host.get_file(f"{scratch}/copy.sh", tmp_path / "back.sh", mode=0o600)
    assert (tmp_path / "back.sh").read_text() == source.read_text()
    assert (tmp_path / "back.sh").stat().st_mode & 0o777 == 0o600


def test_reading_a_missing_file_names_the_host_and_the_path(
        host_and_scratch: tuple[Host, str]) -> None:
    host, scratch = host_and_scratch
    with pytest.raises(RemoteFileError, match=f"{host.name}: cannot read {scratch}/missing"):
        host.get(f"{scratch}/missing")


def test_a_live_host_is_reachable(host_and_scratch: tuple[Host, str]) -> None:
    host, _ = host_and_scratch
    assert host.is_reachable(timeout=2.0)


def test_a_command_runs_on_all_machines_in_parallel_with_prefixed_output(
        lab: labs.Lab, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = lab.hosts()
    try:
        results = run_on_all(hosts, "hostname; echo done", check=True, stream=True)
    finally:
        for host in hosts:
            host.close()
    assert {name: r.stdout.split()[0] for name, r in results.items()} == {
        m.name: m.name for m in lab.machines}
    printed = capsys.readouterr().out.splitlines()
    for machine in lab.machines:
        assert f"[{machine.name}] {machine.name}" in printed
        assert f"[{machine.name}] done" in printed


def test_hosts_can_be_picked_by_role(lab: labs.Lab) -> None:
    assert [h.name for h in lab.hosts(labs.Role.CONTROL_PLANE)] == ["cp1"]
    assert [h.name for h in lab.hosts(labs.Role.WORKER)] == ["w1", "w2"]
