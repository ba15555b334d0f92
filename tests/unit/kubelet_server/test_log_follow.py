"""Following a CRI log file: new lines as they are written, lines torn across writes, partial
records, a rotated file, and the end when the container stops."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kubeadmpy.kubelet.server.logs import LogOptions, log_chunks

STAMP = "2026-01-01T00:00:0{}.000000000Z"


def record(second: int, text: str, tag: str = "F", stream: str = "stdout") -> str:
    return f"{STAMP.format(second)} {stream} {tag} {text}\n"


async def until_received(received: list[bytes], ending: bytes) -> None:
    for _ in range(3000):
        if b"".join(received).endswith(ending):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never received {ending!r}: {b''.join(received)!r}")


async def test_follow_sends_new_lines_across_a_rotation_and_stops_with_the_container(
        tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_text(record(0, "before"))
    running = True

    async def still_running() -> bool:
        return running

    received: list[bytes] = []

    async def follow() -> None:
        async for chunk in log_chunks(log, LogOptions(follow=True), still_running):
            received.append(chunk)

    follower = asyncio.ensure_future(follow())
    try:
        async with asyncio.timeout(60):
            await until_received(received, b"before\n")
            with log.open("a") as handle:  # a line torn across two writes, a partial record
                handle.write(record(1, "torn")[:30])
                handle.flush()
                await asyncio.sleep(0.3)
                handle.write(record(1, "torn")[30:] + record(2, "split-", "P")
                             + record(2, "line"))
            await until_received(received, b"split-line\n")
            log.rename(tmp_path / "0.log.20260101-000003")  # the kubelet rotates the log
            log.write_text(record(3, "after rotation"))
            await until_received(received, b"after rotation\n")
            running = False
            await follower
    finally:
        follower.cancel()
    assert b"".join(received) == b"before\ntorn\nsplit-line\nafter rotation\n"


async def test_without_follow_the_existing_lines_are_sent_once(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_text(record(0, "a") + record(1, "b", stream="stderr") + record(2, "c"))

    async def never() -> bool:
        raise AssertionError("not following: the container is not asked about")

    chunks = [c async for c in log_chunks(log, LogOptions(tail_lines=2, timestamps=True),
                                          never)]
    assert b"".join(chunks) == f"{STAMP.format(1)} b\n{STAMP.format(2)} c\n".encode()
