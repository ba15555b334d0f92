"""Rate limits: the client's QPS/burst bucket and the work queue's retry back-off.

Both follow client-go: a token bucket that lends tokens ahead (a caller learns how long to wait
instead of polling), and the controller default limiter, the larger of a per-key exponential
back-off (5 ms doubling to 1000 s) and an overall 10 QPS / 100 burst bucket — so one failing key
backs off alone while a storm of failures cannot flood the API server.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from kubeadmpy.client.clock import Clock, RealClock


class TokenBucket:
    """`qps` tokens per second, at most `burst` saved; qps <= 0 means unlimited."""

    def __init__(self, qps: float, burst: int, clock: Clock | None = None) -> None:
        self.qps = qps
        self.burst = max(1, burst)
        self.clock = clock or RealClock()
        self._tokens = float(self.burst)
        self._stamp = self.clock.now()

    def reserve(self) -> float:
        """Take one token now; the seconds the caller must wait before using it."""
        if self.qps <= 0:
            return 0.0
        now = self.clock.now()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.qps)
        self._stamp = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await self.clock.sleep(delay)


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float:
        """Seconds to wait before `item` may be retried (counts one failure)."""

    def forget(self, item: Hashable) -> None:
        """The item succeeded: reset its failure history."""

    def num_requeues(self, item: Hashable) -> int: ...


class ItemExponentialFailureRateLimiter:
    """base × 2^failures per item, capped at `max_delay`."""

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        failures = self._failures.get(item, 0)
        self._failures[item] = failures + 1
        if failures > 64:  # 2**64 × base overflows any useful cap
            return self.max_delay
        return float(min(self.base_delay * (2 ** failures), self.max_delay))

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """An overall bucket shared by all items (no per-item memory)."""

    def __init__(self, qps: float = 10.0, burst: int = 100, clock: Clock | None = None) -> None:
        self.bucket = TokenBucket(qps, burst, clock)

    def when(self, item: Hashable) -> float:
        return self.bucket.reserve()

    def forget(self, item: Hashable) -> None:
        return None

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay any of the limiters asks for."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_controller_rate_limiter(clock: Clock | None = None) -> MaxOfRateLimiter:
    """client-go's DefaultControllerRateLimiter: per-item 5 ms → 1000 s, overall 10 QPS/100."""
    return MaxOfRateLimiter(ItemExponentialFailureRateLimiter(0.005, 1000.0),
                            BucketRateLimiter(10.0, 100, clock))
