"""The generic phase runner: order, subtrees, skipping, run-if, error wrapping."""

from __future__ import annotations

import pytest

from kubeadmpy.errors import PhaseError, UserInputError
from kubeadmpy.phases.workflow import Phase, Workflow


def recording_workflow() -> tuple[Workflow[list[str]], list[str]]:
    def step(name: str) -> Phase[list[str]]:
        return Phase(name.split("/")[-1], f"does {name}", run=lambda log: log.append(name))

    certs = Phase[list[str]](
        "certs", "all certificates", children=(step("certs/ca"), step("certs/apiserver"))
    )
    flow = Workflow("init", [step("preflight"), certs, step("kubeconfig")])
    return flow, []


def test_a_full_run_executes_every_phase_in_tree_order() -> None:
    flow, log = recording_workflow()
    report = flow.run(log)
    assert log == ["preflight", "certs/ca", "certs/apiserver", "kubeconfig"]
    assert [path for path, _ in report.ran] == log


def test_running_one_parent_phase_runs_its_children_only() -> None:
    flow, log = recording_workflow()
    flow.run(log, only="certs")
    assert log == ["certs/ca", "certs/apiserver"]


def test_skipping_a_parent_skips_all_its_children() -> None:
    flow, log = recording_workflow()
    report = flow.run(log, skip=["certs"])
    assert log == ["preflight", "kubeconfig"]
    assert "certs/ca" in report.skipped


def test_skipping_one_child_keeps_its_siblings() -> None:
    flow, log = recording_workflow()
    flow.run(log, skip=["certs/ca"])
    assert log == ["preflight", "certs/apiserver", "kubeconfig"]


def test_an_unknown_skip_name_is_refused_with_the_valid_names() -> None:
    flow, log = recording_workflow()
    with pytest.raises(UserInputError, match="certs/apiserver") as info:
        flow.run(log, skip=["cert"])
    assert "--skip-phases" in str(info.value)
    assert log == []


def test_run_if_false_skips_the_phase() -> None:
    flow = Workflow[list[str]](
        "reset",
        [Phase("cleanup", "clean", run=lambda log: log.append("x"), run_if=lambda log: False)],
    )
    log: list[str] = []
    assert flow.run(log).skipped == ["cleanup"]
    assert log == []


def test_a_failing_phase_is_reported_with_its_path() -> None:
    def broken(_: object) -> None:
        raise OSError("permission denied: /etc/kubernetes/pki")

    flow = Workflow[object](
        "init", [Phase("certs", "c", children=(Phase("ca", "ca", run=broken),))]
    )
    with pytest.raises(PhaseError, match=r"^\[certs/ca\] permission denied"):
        flow.run(object())


def test_help_table_lists_every_phase_indented() -> None:
    flow, _ = recording_workflow()
    table = flow.help_table()
    assert table.splitlines()[0].startswith("preflight")
    assert "  /apiserver" in table
