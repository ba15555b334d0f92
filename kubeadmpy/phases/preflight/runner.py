"""Run a list of checks with kubeadm's semantics and output.

- Every check runs, even after a failure, so the user sees all problems at once.
- Warnings print at once as ``\\t[WARNING Name]: message``.
- `--ignore-preflight-errors` names are matched case-insensitively; errors of an ignored check
  print as warnings; ``all`` ignores every check and cannot be combined with other names.
- Remaining errors end the run with `PreflightFailed`, whose message is kubeadm's block:
  "[preflight] Some fatal errors occurred:", one ``\\t[ERROR Name]: message`` line per error,
  and the hint about ``--ignore-preflight-errors=...``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TextIO

from kubeadmpy.errors import PreflightError, UserInputError
from kubeadmpy.phases.preflight.check import Check, Findings

IGNORE_ALL = "all"
IGNORE_FIELD = "--ignore-preflight-errors"
FATAL_HEADER = "[preflight] Some fatal errors occurred:"
IGNORE_HINT = (
    "[preflight] If you know what you are doing, you can make a check non-fatal with "
    "`--ignore-preflight-errors=...`"
)

Status = Literal["passed", "warning", "ignored", "error"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check after the ignore list was applied."""

    name: str
    what: str
    warnings: tuple[str, ...]
    errors: tuple[str, ...]  # fatal
    ignored_errors: tuple[str, ...]  # errors the ignore list turned into warnings

    @property
    def status(self) -> Status:
        if self.errors:
            return "error"
        if self.ignored_errors:
            return "ignored"
        if self.warnings:
            return "warning"
        return "passed"


@dataclass(frozen=True)
class PreflightReport:
    """All results of one run, in the order the checks ran."""

    results: tuple[CheckResult, ...]
    unknown_ignored: tuple[str, ...] = ()  # ignore-list names that matched no check

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [(r.name, e) for r in self.results for e in r.errors]

    @property
    def warnings(self) -> list[tuple[str, str]]:
        """Everything printed as a warning, ignored errors included."""
        return [(r.name, w) for r in self.results for w in (*r.warnings, *r.ignored_errors)]

    @property
    def failed(self) -> bool:
        return any(r.errors for r in self.results)


class PreflightFailed(PreflightError):
    """Fatal preflight errors; carries the report so callers can render it."""

    def __init__(self, report: PreflightReport) -> None:
        self.report = report
        lines = [FATAL_HEADER]
        lines += [f"\t[ERROR {name}]: {message}" for name, message in report.errors]
        lines.append(IGNORE_HINT)
        super().__init__("\n".join(lines))


def parse_ignore_list(values: Iterable[str], *, field: str = IGNORE_FIELD) -> frozenset[str]:
    """Lower-cased check names from flag/config values (each may be a comma-separated list).

    Raises UserInputError when ``all`` is combined with other names.
    """
    names = {item.strip().lower() for value in values for item in value.split(",") if item.strip()}
    if IGNORE_ALL in names and len(names) > 1:
        others = ", ".join(sorted(names - {IGNORE_ALL}))
        raise UserInputError(
            field,
            f"'all' cannot be combined with other check names (also given: {others})",
            "Pass either 'all' alone or a list of check names such as 'Swap,NumCPU'",
        )
    return frozenset(names)


def run_preflight(
    checks: Sequence[Check],
    ignore: Iterable[str],
    out: TextIO,
    *,
    known_names: Iterable[str] | None = None,
) -> PreflightReport:
    """Run `checks`, print warnings to `out`, return the report or raise `PreflightFailed`.

    `ignore` holds check names (any case) or ``all``. A name matching none of `known_names`
    (default: the names of `checks`) is reported once as a warning, since it is most likely a
    typo that would otherwise silently keep an error fatal.
    """
    ignored = parse_ignore_list(ignore)
    ignore_all = IGNORE_ALL in ignored
    names = (c.name for c in checks) if known_names is None else known_names
    known = {name.lower() for name in names}
    unknown = tuple(sorted(ignored - known - {IGNORE_ALL}))
    if unknown:
        out.write(
            f"\t[WARNING IgnorePreflightErrors]: no preflight check is named "
            f"{', '.join(unknown)}; check names are printed in [WARNING Name] and "
            "[ERROR Name]\n"
        )

    results: list[CheckResult] = []
    for check in checks:
        try:
            findings = check.run()
        except OSError as exc:  # an unreadable file must not become a traceback
            findings = Findings.error(f"the check could not run: {exc}")
        if ignore_all or check.name.lower() in ignored:
            result = CheckResult(check.name, check.what, findings.warnings, (), findings.errors)
        else:
            result = CheckResult(check.name, check.what, findings.warnings, findings.errors, ())
        for message in (*result.warnings, *result.ignored_errors):
            out.write(f"\t[WARNING {check.name}]: {message}\n")
        results.append(result)
    out.flush()

    report = PreflightReport(tuple(results), unknown)
    if report.failed:
        raise PreflightFailed(report)
    return report
