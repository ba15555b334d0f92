"""Phases as data, and the one generic runner every workflow uses.

A `Phase` is a plain value: a name, a one-line help text, an optional run function and children.
The runner flattens the tree into paths such as ``certs/apiserver``, applies ``--skip-phases``,
runs one phase (``init phase certs apiserver``) or a whole subtree (``init phase certs all``), and
wraps every failure with the phase path. The CLI builds its ``phase`` subcommands and the phase
table in ``--help`` from the same tree, so help cannot drift from code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from kubeadmpy.errors import KubeadmpyError, PhaseError, UserInputError

C = TypeVar("C")

RunFn = Callable[[C], None]
RunIf = Callable[[C], bool]


@dataclass(frozen=True)
class Phase(Generic[C]):
    """One step of a workflow; a phase with children runs them in order after its own `run`."""

    name: str
    short: str
    run: RunFn[C] | None = None
    children: tuple[Phase[C], ...] = ()
    run_if: RunIf[C] | None = None
    needs_control_plane: bool = False


@dataclass(frozen=True)
class FlatPhase(Generic[C]):
    """A phase with its full path (``certs/apiserver``) and its depth in the tree."""

    path: str
    phase: Phase[C]
    depth: int


@dataclass
class RunReport:
    """What a workflow run did: phases run, skipped, and their durations in seconds."""

    ran: list[tuple[str, float]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


PhaseListener = Callable[[str, float], None]


class Workflow(Generic[C]):
    """An ordered tree of phases that can run whole, as a subtree, or with phases skipped."""

    def __init__(self, name: str, phases: Sequence[Phase[C]]) -> None:
        self.name = name
        self.phases = tuple(phases)
        self._flat = list(self._walk(self.phases, "", 0))
        self._by_path = {item.path: item for item in self._flat}

    @staticmethod
    def _walk(phases: Iterable[Phase[C]], prefix: str, depth: int) -> Iterator[FlatPhase[C]]:
        for phase in phases:
            path = f"{prefix}{phase.name}"
            yield FlatPhase(path, phase, depth)
            yield from Workflow._walk(phase.children, f"{path}/", depth + 1)

    @property
    def flat(self) -> list[FlatPhase[C]]:
        return list(self._flat)

    def paths(self) -> list[str]:
        return [item.path for item in self._flat]

    def validate_names(self, names: Iterable[str], what: str) -> list[str]:
        """Check that every name is a phase path; the error lists the valid ones."""
        cleaned = [n.strip() for n in names if n.strip()]
        unknown = [n for n in cleaned if n not in self._by_path]
        if unknown:
            raise UserInputError(
                what,
                f"unknown phase {', '.join(repr(n) for n in unknown)}",
                f"Valid phases of '{self.name}' are: {', '.join(self.paths())}",
            )
        return cleaned

    def run(
        self,
        ctx: C,
        *,
        only: str | None = None,
        skip: Iterable[str] = (),
        on_done: PhaseListener | None = None,
        on_start: Callable[[str], None] | None = None,
    ) -> RunReport:
        """Run the workflow (or the subtree at `only`), skipping `skip` and their children.

        `on_start(path)` is called before and `on_done(path, seconds)` after each phase that runs.
        """
        skipped = set(self.validate_names(skip, "--skip-phases"))
        if only is not None:
            self.validate_names([only], "phase")
            selected = [p for p in self._flat if p.path == only or p.path.startswith(f"{only}/")]
        else:
            selected = self._flat
        report = RunReport()
        for item in selected:
            if self._is_skipped(item.path, skipped):
                report.skipped.append(item.path)
                continue
            phase = item.phase
            if phase.run is None:
                continue
            if phase.run_if is not None and not phase.run_if(ctx):
                report.skipped.append(item.path)
                continue
            if on_start is not None:
                on_start(item.path)
            started = time.monotonic()
            try:
                phase.run(ctx)
            except PhaseError:
                raise
            except (KubeadmpyError, OSError) as exc:
                raise PhaseError(item.path, _untagged(str(exc), item.path)) from exc
            elapsed = time.monotonic() - started
            report.ran.append((item.path, elapsed))
            if on_done is not None:
                on_done(item.path, elapsed)
        return report

    @staticmethod
    def _is_skipped(path: str, skipped: set[str]) -> bool:
        parts = path.split("/")
        return any("/".join(parts[: i + 1]) in skipped for i in range(len(parts)))

    def help_table(self) -> str:
        """The phase list shown in `--help`, indented by depth like kubeadm's."""
        lines = []
        for item in self._flat:
            indent = "  " * item.depth
            label = f"{indent}{'/' if item.depth else ''}{item.phase.name}"
            lines.append(f"{label:<28}{item.phase.short}")
        return "\n".join(lines)


def _untagged(message: str, path: str) -> str:
    """The message without a leading ``[phase]`` tag that the PhaseError adds again."""
    tag = f"[{path.split('/')[0]}] "
    return message[len(tag) :] if message.startswith(tag) else message
