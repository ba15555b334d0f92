"""A readable summary of a preflight run: one table row per check (rich).

The `[WARNING ...]`/`[ERROR ...]` lines are kubeadm's format and what scripts grep; this table is
for people, e.g. `kubeadmpy init phase preflight` or a failed init that wants to show everything.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from kubeadmpy.phases.preflight.runner import PreflightReport, Status

_STYLES: dict[Status, str] = {
    "passed": "green",
    "warning": "yellow",
    "ignored": "yellow",
    "error": "bold red",
}


def render_table(report: PreflightReport, *, title: str = "Preflight checks") -> Table:
    """Columns: check name, result (passed / warning / ignored / error), messages."""
    table = Table(title=title, show_lines=False)
    table.add_column("Check", overflow="fold", ratio=2)
    table.add_column("Result", no_wrap=True, min_width=13)
    table.add_column("Message", overflow="fold", ratio=3)
    for result in report.results:
        messages = [*result.errors, *result.ignored_errors, *result.warnings]
        label = "ignored error" if result.status == "ignored" else result.status
        table.add_row(
            result.name,
            Text(label, style=_STYLES[result.status]),
            "\n".join(messages) if messages else result.what,
        )
    return table
