"""Progress of a workflow run: one line per top-level phase with its elapsed time, and a total.

kubeadm prints what each phase does but not how long it took; on a slow `init` the user cannot
tell which step to look at. `PhaseProgress` is given to `Workflow.run` as its `on_start` and
`on_done` hooks: it sums the time of a top-level phase's sub-phases and prints
``[done] certs in 0.41s`` before the next phase's output starts, then the whole run's time.
The same figures are kept in `timings` for benchmarks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.text import Text


@dataclass
class PhaseProgress:
    """Collects per-phase durations and prints one line per finished top-level phase."""

    workflow: str
    console: Console = field(default_factory=lambda: Console(highlight=False, soft_wrap=True))
    timings: dict[str, float] = field(default_factory=dict)  # top-level phase -> seconds
    _current: str | None = None
    _started: float = field(default_factory=time.monotonic)

    def on_start(self, path: str) -> None:
        top = path.split("/")[0]
        if top != self._current:
            self._flush()
            self._current = top

    def on_done(self, path: str, seconds: float) -> None:
        top = path.split("/")[0]
        self.timings[top] = self.timings.get(top, 0.0) + seconds

    def _flush(self) -> None:
        if self._current is not None and self._current in self.timings:
            seconds = self.timings[self._current]
            self.console.print(Text(f"[done] {self._current} in {seconds:.2f}s", style="dim"))
        self._current = None

    def finish(self) -> float:
        """Print the last phase's line and the run's total; return the total in seconds."""
        self._flush()
        total = time.monotonic() - self._started
        slowest = sorted(self.timings.items(), key=lambda item: item[1], reverse=True)[:3]
        shown = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in slowest)
        line = Text(f"[{self.workflow}] finished in {total:.2f}s", style="bold")
        if shown:
            line.append(f" (slowest: {shown})", style="dim")
        self.console.print(line)
        return total
