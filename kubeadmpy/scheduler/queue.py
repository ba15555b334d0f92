"""The scheduling queue: which pending pod the scheduler tries next, and when it retries.

Three places a pending pod can wait, as upstream:
- activeQ: ready to schedule, highest priority first, then the oldest (creation time, then the
  order pods arrived);
- backoffQ: failed recently; back in activeQ once its back-off (1 s doubling per attempt up to
  10 s) has passed;
- unschedulable: no node fitted. Such a pod stays until a cluster event that could help it
  (a new or changed node, a pod leaving, ...) — judged by the plugins that rejected it — moves
  it out, or until it has waited 5 minutes (the periodic flush).
An event that arrives while a pod is being scheduled could have helped it: such a pod goes to
backoffQ instead of unschedulable so it is not stranded (upstream's move-request cycle).
Time comes from an injected `Clock`, so tests move it by hand.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kubeadmpy.client.clock import Clock, RealClock
from kubeadmpy.scheduler.model import PodInfo

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
MAX_UNSCHEDULABLE_SECONDS = 300.0
BACKOFF_FLUSH_INTERVAL = 1.0
UNSCHEDULABLE_FLUSH_INTERVAL = 30.0


@dataclass(eq=False)
class QueuedPod:
    pod: PodInfo
    timestamp: float  # when it last entered the queue
    attempts: int = 0
    unschedulable_plugins: frozenset[str] = field(default_factory=frozenset)
    cycle: int = 0  # the scheduling cycle that popped it last

    @property
    def key(self) -> str:
        return self.pod.key


class SchedulingQueue:
    def __init__(self, plugin_events: Mapping[str, Iterable[str]], *, clock: Clock | None = None,
                 initial_backoff: float = INITIAL_BACKOFF, max_backoff: float = MAX_BACKOFF,
                 max_unschedulable: float = MAX_UNSCHEDULABLE_SECONDS) -> None:
        self.clock: Clock = clock or RealClock()
        self.initial_backoff, self.max_backoff = initial_backoff, max_backoff
        self.max_unschedulable = max_unschedulable
        self._interested: dict[str, frozenset[str]] = {}
        for plugin, events in plugin_events.items():
            for event in events:
                self._interested[event] = self._interested.get(event, frozenset()) | {plugin}
        self._active: dict[str, QueuedPod] = {}
        # (-priority, creation time, arrival sequence): after a restart, when every pending pod
        # arrives at once in list order, pods still go oldest first.
        self._active_heap: list[tuple[int, float, int, QueuedPod]] = []
        self._backoff: dict[str, QueuedPod] = {}
        self._backoff_heap: list[tuple[float, int, QueuedPod]] = []
        self._unschedulable: dict[str, QueuedPod] = {}
        self._in_flight: dict[str, QueuedPod] = {}
        self._sequence = itertools.count()
        self._cycle = 0
        self._move_request_cycle = -1
        self._ready = asyncio.Event()

    # --- what the informer tells us ---------------------------------------------------------
    def add(self, pod: PodInfo) -> None:
        """A new pending pod."""
        if self._find(pod.key) is None:
            self._push_active(QueuedPod(pod, self.clock.now()))

    def update(self, pod: PodInfo, *, spec_changed: bool = True) -> None:
        """A pending pod changed. A changed spec or labels may make it fit, so an unschedulable
        pod moves on; a status-only change (our own condition, nominatedNodeName) does not."""
        queued = self._find(pod.key)
        if queued is None:
            self.add(pod)
            return
        queued.pod = pod
        if spec_changed and pod.key in self._unschedulable:
            del self._unschedulable[pod.key]
            self._requeue(queued)

    def delete(self, key: str) -> None:
        """The pod is gone or has been bound (by us or anyone)."""
        self._active.pop(key, None)
        self._backoff.pop(key, None)
        self._unschedulable.pop(key, None)
        self._in_flight.pop(key, None)

    def on_event(self, event: str) -> int:
        """A cluster event: move the unschedulable pods it could help. Returns how many moved."""
        self._move_request_cycle = self._cycle
        plugins = self._interested.get(event, frozenset())
        moved = [q for q in self._unschedulable.values()
                 if not q.unschedulable_plugins or q.unschedulable_plugins & plugins]
        for queued in moved:
            del self._unschedulable[queued.key]
            self._requeue(queued)
        return len(moved)

    # --- what the scheduler does ------------------------------------------------------------
    def pop_nowait(self) -> QueuedPod | None:
        while self._active_heap:
            queued = heapq.heappop(self._active_heap)[3]
            if self._active.get(queued.key) is queued:
                del self._active[queued.key]
                self._cycle += 1
                queued.attempts += 1
                queued.cycle = self._cycle
                self._in_flight[queued.key] = queued
                return queued
        self._ready.clear()
        return None

    async def pop(self) -> QueuedPod:
        while True:
            queued = self.pop_nowait()
            if queued is not None:
                return queued
            await self._ready.wait()

    def done(self, key: str) -> None:
        """The pod's attempt ended with a binding."""
        self._in_flight.pop(key, None)

    def add_unschedulable(self, queued: QueuedPod, plugins: frozenset[str]) -> None:
        """No node fitted; `plugins` rejected it."""
        if self._in_flight.pop(queued.key, None) is None:
            return  # deleted or bound meanwhile
        queued.unschedulable_plugins = plugins
        queued.timestamp = self.clock.now()
        if self._move_request_cycle >= queued.cycle:
            self._push_backoff(queued)  # something changed while we were deciding
        else:
            self._unschedulable[queued.key] = queued

    def add_backoff(self, queued: QueuedPod) -> None:
        """The attempt failed for another reason (binding, API error): retry after back-off."""
        if self._in_flight.pop(queued.key, None) is None:
            return
        queued.timestamp = self.clock.now()
        self._push_backoff(queued)

    # --- time -------------------------------------------------------------------------------
    def backoff_seconds(self, queued: QueuedPod) -> float:
        if queued.attempts <= 0:
            return 0.0
        return min(self.initial_backoff * float(2 ** (queued.attempts - 1)), self.max_backoff)

    def backoff_expiry(self, queued: QueuedPod) -> float:
        return queued.timestamp + self.backoff_seconds(queued)

    def flush_backoff(self) -> int:
        """Move pods whose back-off is over to activeQ."""
        now, moved = self.clock.now(), 0
        while self._backoff_heap and self._backoff_heap[0][0] <= now:
            queued = heapq.heappop(self._backoff_heap)[2]
            if self._backoff.get(queued.key) is queued:
                del self._backoff[queued.key]
                self._push_active(queued)
                moved += 1
        return moved

    def flush_unschedulable(self) -> int:
        """Pods unschedulable for longer than the limit get another try regardless."""
        now = self.clock.now()
        stale = [q for q in self._unschedulable.values()
                 if now - q.timestamp > self.max_unschedulable]
        for queued in stale:
            del self._unschedulable[queued.key]
            self._requeue(queued)
        return len(stale)

    async def run_flushers(self) -> None:
        """The two periodic flushes; runs until cancelled."""
        next_unschedulable = self.clock.now() + UNSCHEDULABLE_FLUSH_INTERVAL
        while True:
            await self.clock.sleep(BACKOFF_FLUSH_INTERVAL)
            self.flush_backoff()
            if self.clock.now() >= next_unschedulable:
                self.flush_unschedulable()
                next_unschedulable = self.clock.now() + UNSCHEDULABLE_FLUSH_INTERVAL

    # --- views ------------------------------------------------------------------------------
    def where(self, key: str) -> str | None:
        """"active", "backoff", "unschedulable", "in-flight" or None (for tests and debugging)."""
        for name, place in (("active", self._active), ("backoff", self._backoff),
                            ("unschedulable", self._unschedulable),
                            ("in-flight", self._in_flight)):
            if key in place:
                return name
        return None

    def __len__(self) -> int:
        return len(self._active) + len(self._backoff) + len(self._unschedulable)

    # --- internals --------------------------------------------------------------------------
    def _find(self, key: str) -> QueuedPod | None:
        return (self._active.get(key) or self._backoff.get(key) or self._unschedulable.get(key)
                or self._in_flight.get(key))

    def _push_active(self, queued: QueuedPod) -> None:
        self._active[queued.key] = queued
        heapq.heappush(self._active_heap, (-queued.pod.priority, queued.pod.created,
                                           next(self._sequence), queued))
        self._ready.set()

    def _push_backoff(self, queued: QueuedPod) -> None:
        self._backoff[queued.key] = queued
        heapq.heappush(self._backoff_heap, (self.backoff_expiry(queued), next(self._sequence),
                                            queued))

    def _requeue(self, queued: QueuedPod) -> None:
        if self.clock.now() < self.backoff_expiry(queued):
            self._push_backoff(queued)
        else:
            self._push_active(queued)
