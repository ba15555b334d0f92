"""The work queue between informers and reconcilers (client-go's workqueue semantics, async).

Invariants, the reason this is not an `asyncio.Queue`:
* a key waiting in the queue is there once, however often it is added (adds collapse);
* a key is never handed to two workers at once: added while being processed, it is marked dirty
  and re-queued when the worker calls `done`;
* failures are retried through a rate limiter (per-key exponential back-off plus an overall
  bucket), delayed adds land when their time comes, and `shut_down` lets workers drain and stop.
Delays are kept in a heap and promoted by the getters themselves, so the queue owns no task.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from kubeadmpy.client.clock import Clock, RealClock
from kubeadmpy.client.ratelimit import RateLimiter, default_controller_rate_limiter

T = TypeVar("T", bound=Hashable)


class ShutDown(Exception):
    """`get` on a queue that is shut down and empty: the worker should return."""


class WorkQueue(Generic[T]):
    def __init__(self, rate_limiter: RateLimiter | None = None,
                 clock: Clock | None = None) -> None:
        self.clock = clock or RealClock()
        self.rate_limiter = rate_limiter or default_controller_rate_limiter(self.clock)
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._delayed: list[tuple[float, int, T]] = []
        self._delayed_at: dict[T, float] = {}
        self._order = itertools.count()
        self._waiters: set[asyncio.Event] = set()
        self._shutting_down = False

    # --- adding ----------------------------------------------------------------------------

    def add(self, item: T) -> None:
        """Queue `item` unless it is already waiting; if being processed, after `done`."""
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        self._wake()

    def add_after(self, item: T, delay: float) -> None:
        """Add `item` once `delay` seconds have passed; an earlier pending time wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        at = self.clock.now() + delay
        if item in self._delayed_at and self._delayed_at[item] <= at:
            return
        self._delayed_at[item] = at
        heapq.heappush(self._delayed, (at, next(self._order), item))
        self._wake()  # a getter may now need to wake earlier

    def add_rate_limited(self, item: T) -> None:
        """Retry `item` after the rate limiter's back-off (counts a failure)."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """`item` succeeded: its back-off starts again from the base delay."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)

    # --- taking ----------------------------------------------------------------------------

    async def get(self) -> T:
        """The next key (now marked processing); raises `ShutDown` when shut down and empty."""
        while True:
            self._promote_due()
            if self._queue:
                item = self._queue.popleft()
                self._processing.add(item)
                self._dirty.discard(item)
                return item
            if self._shutting_down:
                raise ShutDown()
            wake = asyncio.Event()
            self._waiters.add(wake)
            try:
                await self.clock.wait(wake, self._delayed[0][0] if self._delayed else None)
            finally:
                self._waiters.discard(wake)

    def done(self, item: T) -> None:
        """The worker finished `item`; if it was added meanwhile it goes back in the queue."""
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._wake()

    def shut_down(self) -> None:
        """Refuse new adds, drop pending delays; getters drain what is queued, then stop."""
        self._shutting_down = True
        self._delayed.clear()
        self._delayed_at.clear()
        self._wake()

    # --- introspection -----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    @property
    def processing(self) -> frozenset[T]:
        return frozenset(self._processing)

    @property
    def pending_delays(self) -> int:
        return len(self._delayed_at)

    # --- internals -----------------------------------------------------------------------------

    def _promote_due(self) -> None:
        now = self.clock.now()
        while self._delayed and self._delayed[0][0] <= now:
            at, _, item = heapq.heappop(self._delayed)
            if self._delayed_at.get(item) != at:
                continue  # superseded by an earlier add_after
            del self._delayed_at[item]
            self.add(item)

    def _wake(self) -> None:
        for waiter in self._waiters:
            waiter.set()
