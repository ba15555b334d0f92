"""/containerLogs/{namespace}/{pod}/{container}: a container's CRI log file as `kubectl logs`
shows it.

Query parameters are upstream's (follow, tailLines, timestamps, sinceSeconds, sinceTime,
limitBytes, previous). Records split by the runtime (tag P) are joined back into the line the
container printed; with timestamps each line starts with the time of its first record, as the
runtime wrote it (RFC 3339 with nanoseconds). With follow the file is polled for growth until
the container stops running (its CRI state is checked whenever the file is quiet), then
whatever is left is sent and the response ends.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from aiohttp import web

from kubeadmpy.cri import CRIClient, CRIError, LogFormatError, LogLine, api, parse_log_line

FOLLOW_POLL_SECONDS = 0.1
RUNNING_CHECK_EVERY = 10  # quiet polls between two ContainerStatus calls


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    tail_lines: int | None = None
    timestamps: bool = False
    since: datetime | None = None
    limit_bytes: int | None = None
    previous: bool = False


def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("1", "true", "yes")


def _positive(query: dict[str, str], name: str, minimum: int) -> int | None:
    if name not in query or query[name] == "":
        return None
    try:
        value = int(query[name])
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name}={query[name]!r}: not an integer") from None
    if value < minimum:
        raise web.HTTPBadRequest(text=f"{name}={value}: must be at least {minimum}")
    return value


def parse_options(query: dict[str, str], now: datetime | None = None) -> LogOptions:
    """LogOptions from the query string; 400 for values upstream rejects."""
    since = None
    seconds = _positive(query, "sinceSeconds", 1)
    if seconds is not None:
        since = (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    elif query.get("sinceTime"):
        try:
            since = datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00"))
        except ValueError:
            raise web.HTTPBadRequest(
                text=f"sinceTime={query['sinceTime']!r}: not an RFC 3339 time") from None
    return LogOptions(follow=_flag(query, "follow"),
                      tail_lines=_positive(query, "tailLines", 0),
                      timestamps=_flag(query, "timestamps"), since=since,
                      limit_bytes=_positive(query, "limitBytes", 1),
                      previous=_flag(query, "previous"))


def render(line: LogLine, timestamps: bool) -> bytes:
    text = f"{line.timestamp} {line.text}\n" if timestamps else f"{line.text}\n"
    return text.encode()


def _records(chunk: str) -> list[LogLine]:
    records = []
    for raw in chunk.splitlines():
        try:
            records.append(parse_log_line(raw))
        except LogFormatError:
            continue  # a torn or foreign line: skip it, as upstream logs and goes on
    return records


class _Joiner:
    """Partial records joined to the record that ends them, across reads of a growing file."""

    def __init__(self) -> None:
        self.pending: dict[str, list[LogLine]] = {}

    def feed(self, records: list[LogLine]) -> list[LogLine]:
        whole = []
        for record in records:
            parts = self.pending.setdefault(record.stream, [])
            if record.partial:
                parts.append(record)
                continue
            if parts:
                text = "".join(part.text for part in parts) + record.text
                record = LogLine(parts[0].timestamp, record.stream, False, text)
                parts.clear()
            whole.append(record)
        return whole


def _batch(lines: list[LogLine], options: LogOptions, sent: int) -> tuple[bytes, int, bool]:
    """Rendered lines as one write (one chunk per read, not per line); the byte count so far
    and whether limitBytes is reached."""
    out = b"".join(render(line, options.timestamps) for line in lines)
    if options.limit_bytes is not None and sent + len(out) >= options.limit_bytes:
        return out[:options.limit_bytes - sent], options.limit_bytes, True
    return out, sent + len(out), False


async def _is_running(cri: CRIClient, container_id: str) -> bool:
    try:
        status = (await cri.container_status(container_id)).status
    except CRIError:
        return False
    return bool(status.state == api.CONTAINER_RUNNING)


def container_running(cri: CRIClient, container_id: str) -> Callable[[], Awaitable[bool]]:
    """The follow loop's question, answered by the runtime."""
    async def ask() -> bool:
        return await _is_running(cri, container_id)
    return ask


def _rotated(handle: BinaryIO, path: Path) -> bool:
    """True when `path` now names another file than the one open (the log was rotated)."""
    try:
        return os.stat(path).st_ino != os.fstat(handle.fileno()).st_ino
    except OSError:
        return False


async def log_chunks(path: Path, options: LogOptions,
                     still_running: Callable[[], Awaitable[bool]]) -> AsyncIterator[bytes]:
    """What to send: the selected existing lines, then (follow) new lines as they come, across
    rotations of the file, until `still_running` says the container stopped."""
    joiner = _Joiner()
    sent = 0

    def select(lines: list[LogLine]) -> list[LogLine]:
        if options.since is not None:
            lines = [line for line in lines if line.time >= options.since]
        return lines

    handle = path.open("rb")
    try:
        data = handle.read()
        cut = data.rfind(b"\n") + 1  # a line being written stays for the next read
        lines = select(joiner.feed(_records(data[:cut].decode(errors="replace"))))
        carry = data[cut:]
        if options.tail_lines is not None:
            lines = list(deque(lines, maxlen=options.tail_lines)) if options.tail_lines else []
        batch, sent, done = _batch(lines, options, sent)
        if batch:
            yield batch
        if done:
            return
        if not options.follow:
            return
        quiet = 0
        while True:
            more = handle.read()
            if not more and _rotated(handle, path):
                handle.close()  # the runtime writes a new file now: go on from its start
                handle = path.open("rb")
                more = handle.read()
            if not more:
                quiet += 1
                if quiet % RUNNING_CHECK_EVERY == 0 and not await still_running():
                    more = handle.read()
                    if not more:
                        return
                else:
                    await asyncio.sleep(FOLLOW_POLL_SECONDS)
                    continue
            data = carry + more
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            lines = select(joiner.feed(_records(data[:cut].decode(errors="replace"))))
            batch, sent, done = _batch(lines, options, sent)
            if batch:
                yield batch
            if done:
                return
    finally:
        handle.close()
