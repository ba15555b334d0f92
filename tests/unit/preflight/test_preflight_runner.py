"""The runner: kubeadm's output lines, ignore semantics, the fatal error text, and the table."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from kubeadmpy.errors import KubeadmpyError, PreflightError, UserInputError
from kubeadmpy.phases.preflight import (
    Check,
    Findings,
    PreflightFailed,
    parse_ignore_list,
    render_table,
    run_preflight,
)


def check(name: str, warnings: tuple[str, ...] = (), errors: tuple[str, ...] = ()) -> Check:
    return Check(name, lambda: Findings(warnings, errors), what=f"{name} is fine")


SWAP_ON = check("Swap", warnings=("swap is on",))
ONE_CPU = check("NumCPU", errors=("the number of available CPUs 1 is less than the required 2",))
PORT_TAKEN = check("Port-6443", errors=("Port 6443 is in use",))
ROOT = check("IsPrivilegedUser")


def run(checks: list[Check], ignore: list[str]) -> tuple[str, PreflightFailed | None]:
    out = io.StringIO()
    try:
        run_preflight(checks, ignore, out)
    except PreflightFailed as failure:
        return out.getvalue(), failure
    return out.getvalue(), None


def test_a_clean_run_prints_nothing_and_reports_every_check_passed() -> None:
    out = io.StringIO()
    report = run_preflight([ROOT, check("Mem")], [], out)
    assert out.getvalue() == ""
    assert [r.status for r in report.results] == ["passed", "passed"]
    assert not report.failed


def test_warnings_print_in_kubeadms_format_and_do_not_fail() -> None:
    output, failure = run([ROOT, SWAP_ON], [])
    assert failure is None
    assert output == "\t[WARNING Swap]: swap is on\n"


def test_errors_fail_with_kubeadms_exact_text() -> None:
    output, failure = run([ROOT, ONE_CPU, SWAP_ON, PORT_TAKEN], [])
    assert failure is not None
    assert str(failure) == (
        "[preflight] Some fatal errors occurred:\n"
        "\t[ERROR NumCPU]: the number of available CPUs 1 is less than the required 2\n"
        "\t[ERROR Port-6443]: Port 6443 is in use\n"
        "[preflight] If you know what you are doing, you can make a check non-fatal with "
        "`--ignore-preflight-errors=...`"
    )
    assert output == "\t[WARNING Swap]: swap is on\n"  # every check ran, despite early errors


def test_the_failure_is_a_preflight_error_and_carries_the_report() -> None:
    _, failure = run([ONE_CPU], [])
    assert isinstance(failure, PreflightError) and isinstance(failure, KubeadmpyError)
    assert failure.report.errors == [
        ("NumCPU", "the number of available CPUs 1 is less than the required 2")
    ]


@pytest.mark.parametrize(
    "ignore",
    [["NumCPU,Port-6443"], ["numcpu", "PORT-6443"], [" NumCpu , port-6443 "], ["all"], ["ALL"]],
    ids=[
        "exact names in one comma list",
        "names in any case",
        "names with spaces around commas",
        "all",
        "all in capitals",
    ],
)
def test_ignored_errors_print_as_warnings_and_do_not_fail(ignore: list[str]) -> None:
    output, failure = run([ONE_CPU, SWAP_ON, PORT_TAKEN], ignore)
    assert failure is None
    assert output == (
        "\t[WARNING NumCPU]: the number of available CPUs 1 is less than the required 2\n"
        "\t[WARNING Swap]: swap is on\n"
        "\t[WARNING Port-6443]: Port 6443 is in use\n"
    )


def test_ignoring_one_check_keeps_the_others_fatal() -> None:
    output, failure = run([ONE_CPU, PORT_TAKEN], ["numcpu"])
    assert failure is not None
    assert "[ERROR Port-6443]" in str(failure) and "[ERROR NumCPU]" not in str(failure)
    assert output == (
        "\t[WARNING NumCPU]: the number of available CPUs 1 is less than the required 2\n"
    )


def test_ignored_errors_are_reported_as_ignored() -> None:
    out = io.StringIO()
    report = run_preflight([ONE_CPU, SWAP_ON, ROOT], ["NumCPU"], out)
    assert [r.status for r in report.results] == ["ignored", "warning", "passed"]
    assert report.warnings == [
        ("NumCPU", "the number of available CPUs 1 is less than the required 2"),
        ("Swap", "swap is on"),
    ]


@pytest.mark.parametrize(
    "ignore",
    [["all,Swap"], ["all", "swap"], ["Swap", "ALL"]],
    ids=["in one list", "in two values", "in any case"],
)
def test_all_combined_with_other_names_is_a_user_error(ignore: list[str]) -> None:
    with pytest.raises(UserInputError) as caught:
        run_preflight([ROOT], ignore, io.StringIO())
    assert caught.value.field == "--ignore-preflight-errors"
    assert "'all' cannot be combined with other check names (also given: swap)" in str(caught.value)


def test_unknown_names_in_the_ignore_list_are_warned_about_once() -> None:
    out = io.StringIO()
    report = run_preflight([ROOT, SWAP_ON], ["Swpa", "swap", "NoSuchCheck"], out)
    assert report.unknown_ignored == ("nosuchcheck", "swpa")
    assert out.getvalue().splitlines()[0] == (
        "\t[WARNING IgnorePreflightErrors]: no preflight check is named nosuchcheck, swpa; "
        "check names are printed in [WARNING Name] and [ERROR Name]"
    )


def test_names_known_to_the_whole_workflow_are_not_unknown() -> None:
    out = io.StringIO()
    report = run_preflight([ROOT], ["Port-2379"], out, known_names=["Port-2379", "Swap"])
    assert report.unknown_ignored == ()
    assert out.getvalue() == ""


def test_empty_entries_are_dropped_from_the_ignore_list() -> None:
    assert parse_ignore_list(["", " , Swap,"]) == frozenset({"swap"})


def test_a_check_that_cannot_read_its_file_reports_an_error_instead_of_a_traceback() -> None:
    def unreadable() -> Findings:
        raise PermissionError(13, "Permission denied", "/etc/kubernetes/manifests")

    _, failure = run([Check("FileAvailable--x", unreadable)], [])
    assert failure is not None
    assert "[ERROR FileAvailable--x]: the check could not run:" in str(failure)
    assert "Permission denied" in str(failure)


def render(report_checks: list[Check], ignore: list[str]) -> str:
    out = io.StringIO()
    try:
        report = run_preflight(report_checks, ignore, out)
    except PreflightFailed as failed:
        report = failed.report
    console = Console(file=io.StringIO(), width=160, record=True)
    console.print(render_table(report))
    return console.export_text()


def test_the_table_shows_each_check_with_its_result_and_message() -> None:
    text = render([ROOT, SWAP_ON, ONE_CPU, PORT_TAKEN], ["Port-6443"])
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if "│" in line}
    assert (
        "passed" in rows["IsPrivilegedUser"]
        and "IsPrivilegedUser is fine" in rows["IsPrivilegedUser"]
    )
    assert "warning" in rows["Swap"] and "swap is on" in rows["Swap"]
    assert " error " in rows["NumCPU"] and "less than the required 2" in rows["NumCPU"]
    assert "ignored error" in rows["Port-6443"] and "Port 6443 is in use" in rows["Port-6443"]
    assert "Check" in text and "Result" in text and "Message" in text
