"""Reading container log files in the CRI format the runtime writes.

containerd writes each line a container prints as ``<RFC3339Nano time> <stream> <tag> <text>``,
where the tag is ``F`` for a full line and ``P`` for a part of a longer one (lines over
``max_container_log_line_size`` are split). The kubelet serves these files as
``kubectl logs``; this module turns them back into what the container printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Stream = Literal["stdout", "stderr"]


class LogFormatError(ValueError):
    """A line that is not in the CRI log format."""


@dataclass(frozen=True)
class LogLine:
    """One record of a CRI log file (a whole line, or a part of one when `partial`)."""

    timestamp: str  # as written, RFC 3339 with nanoseconds
    stream: Stream
    partial: bool
    text: str

    @property
    def time(self) -> datetime:
        """The timestamp as a datetime (to microseconds, which is what Python keeps)."""
        stamp = self.timestamp.replace("Z", "+00:00")
        head, dot, rest = stamp.partition(".")
        if dot:
            zone_at = next((i for i, c in enumerate(rest) if not c.isdigit()), len(rest))
            digits, zone = rest[:zone_at], rest[zone_at:]
            stamp = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
        return datetime.fromisoformat(stamp)


def parse_log_line(line: str) -> LogLine:
    """One line of a CRI log file (without its newline)."""
    parts = line.split(" ", 3)
    if len(parts) < 3 or parts[1] not in ("stdout", "stderr") or parts[2] not in ("F", "P"):
        raise LogFormatError(f"not a CRI log line: {line[:80]!r}")
    text = parts[3] if len(parts) == 4 else ""
    return LogLine(parts[0], parts[1], parts[2] == "P", text)  # type: ignore[arg-type]


def joined_lines(records: Iterable[LogLine]) -> Iterator[LogLine]:
    """Whole lines: partial records are joined to the full record that ends them."""
    pending: dict[str, list[LogLine]] = {}
    for record in records:
        parts = pending.setdefault(record.stream, [])
        if record.partial:
            parts.append(record)
            continue
        if parts:
            text = "".join(p.text for p in parts) + record.text
            record = LogLine(parts[0].timestamp, record.stream, False, text)
            parts.clear()
        yield record


def read_log(text: str) -> list[LogLine]:
    """Every whole line of a CRI log file's content."""
    return list(joined_lines(parse_log_line(line) for line in text.splitlines() if line))
