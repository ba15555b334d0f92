"""Per-phase progress lines with elapsed time, and phase errors tagged once."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from kubeadmpy.errors import KubeadmpyError, PhaseError
from kubeadmpy.phases.progress import PhaseProgress
from kubeadmpy.phases.workflow import Phase, Workflow


def progress_into(buffer: io.StringIO) -> PhaseProgress:
    return PhaseProgress("init", console=Console(file=buffer, width=200, color_system=None))


def test_each_top_level_phase_prints_one_line_before_the_next_phase_starts() -> None:
    out = io.StringIO()
    progress = progress_into(out)

    def step(text: str) -> Phase[list[str]]:
        return Phase(text.split("/")[-1], text, run=lambda _log: out.write(f"{text}\n"))

    flow = Workflow[list[str]](
        "init",
        [step("preflight"), Phase("certs", "certs", children=(step("ca"), step("apiserver")))],
    )
    flow.run([], on_start=progress.on_start, on_done=progress.on_done)
    total = progress.finish()
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["preflight", lines[1]]
    assert lines[1].startswith("[done] preflight in ")
    assert lines[2:4] == ["ca", "apiserver"]
    assert lines[4].startswith("[done] certs in ")
    assert lines[5].startswith("[init] finished in ")
    assert set(progress.timings) == {"preflight", "certs"}
    assert total >= sum(progress.timings.values())


def test_a_phase_error_carries_its_phase_tag_once() -> None:
    def fail(_ctx: object) -> None:
        raise KubeadmpyError("[preflight] Some fatal errors occurred")

    flow = Workflow[object]("init", [Phase("preflight", "checks", run=fail)])
    with pytest.raises(PhaseError) as info:
        flow.run(object())
    assert str(info.value) == "[preflight] Some fatal errors occurred"
