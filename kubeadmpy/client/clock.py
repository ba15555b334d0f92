"""Time as a dependency: the work queue, rate limiters and leader election take a `Clock`.

Tests inject `FakeClock` and move time by hand, so back-off schedules and lease expiry are
asserted as states and orderings rather than measured with a stopwatch. Waiting is expressed as
"until this event is set or the clock reaches this deadline", which both clocks implement
without spawning tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""

    def wall(self) -> datetime:
        """Wall-clock time (UTC), for timestamps written into objects."""

    async def wait(self, event: asyncio.Event, deadline: float | None) -> None:
        """Return when `event` is set or `now() >= deadline` (None: no deadline)."""

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of this clock's time."""


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(UTC)

    async def wait(self, event: asyncio.Event, deadline: float | None) -> None:
        if deadline is None:
            await event.wait()
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, deadline - self.now())):
                await event.wait()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """Time that only moves when a test calls `advance` (or `step` with `auto_advance`)."""

    def __init__(self, start: float = 1000.0,
                 wall: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self._now = start
        self._start = start
        self._wall = wall
        self._waiters: list[tuple[float, asyncio.Event]] = []

    def now(self) -> float:
        return self._now

    def wall(self) -> datetime:
        return self._wall + timedelta(seconds=self._now - self._start)

    async def wait(self, event: asyncio.Event, deadline: float | None) -> None:
        if deadline is None or event.is_set():
            await event.wait()
            return
        if deadline <= self._now:
            return
        wake = asyncio.Event()
        entry = (deadline, wake)
        self._waiters.append(entry)
        # Either the caller's event or our own deadline event ends the wait; both waits are
        # scoped to this call and cancelled before it returns.
        pending = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(wake.wait())]
        try:
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in pending:
                waiter.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    async def sleep(self, seconds: float) -> None:
        await self.wait(asyncio.Event(), self._now + seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every waiter whose deadline has come."""
        self._now += seconds
        for deadline, wake in list(self._waiters):
            if deadline <= self._now:
                wake.set()

    @property
    def waiters(self) -> int:
        """How many waits with a deadline are pending (lets tests wait for a sleeper)."""
        return len(self._waiters)
