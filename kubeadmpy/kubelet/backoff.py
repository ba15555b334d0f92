"""Per-key exponential back-off, the kubelet's flavour (client-go's flowcontrol.Backoff).

Crash-looping containers and failing image pulls are retried after 10 s, 20 s, 40 s ... capped at
300 s. An entry whose last failure is older than twice the cap (10 minutes) is forgotten, so a
container that ran fine for 10 minutes starts again from 10 s. Time comes from a `Clock`, so
tests move it by hand instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubeadmpy.client.clock import Clock


@dataclass
class _Entry:
    delay: float
    last_update: float


class Backoff:
    def __init__(self, clock: Clock, initial: float = 10.0, cap: float = 300.0) -> None:
        self.clock = clock
        self.initial = initial
        self.cap = cap
        self._entries: dict[str, _Entry] = {}

    def _expired(self, entry: _Entry, at: float) -> bool:
        return at - entry.last_update > 2 * self.cap

    def next(self, key: str, event_time: float) -> float:
        """Record a failure at `event_time`; the delay before the next attempt."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event_time):
            entry = self._entries[key] = _Entry(self.initial, event_time)
        else:
            entry.delay = min(entry.delay * 2, self.cap)
            entry.last_update = event_time
        return entry.delay

    def delay(self, key: str) -> float:
        """The current delay of `key` (0 when none)."""
        entry = self._entries.get(key)
        return entry.delay if entry else 0.0

    def in_backoff_since(self, key: str, event_time: float) -> bool:
        """True while less than the current delay has passed since `event_time`."""
        entry = self._entries.get(key)
        now = self.clock.now()
        if entry is None or self._expired(entry, now):
            return False
        return now - event_time < entry.delay

    def remaining(self, key: str, event_time: float) -> float:
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        return max(0.0, event_time + entry.delay - self.clock.now())

    def forget(self, prefix: str) -> None:
        """Drop every key starting with `prefix` (a pod's keys when it goes away)."""
        for key in [key for key in self._entries if key.startswith(prefix)]:
            del self._entries[key]
