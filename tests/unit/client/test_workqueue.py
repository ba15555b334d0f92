"""Work queue semantics, driven step by step with a fake clock (no sleeping, no timing)."""

from __future__ import annotations

import asyncio

import pytest

from kubeadmpy.client import FakeClock, ShutDown, WorkQueue
from kubeadmpy.client.ratelimit import ItemExponentialFailureRateLimiter


def new_queue(clock: FakeClock | None = None) -> WorkQueue[str]:
    return WorkQueue(ItemExponentialFailureRateLimiter(0.005, 1000.0), clock or FakeClock())


async def until_sleeping(clock: FakeClock) -> None:
    """Yield to the event loop until a worker waits on the fake clock."""
    for _ in range(100):
        if clock.waiters:
            return
        await asyncio.sleep(0)
    raise AssertionError("no worker started waiting on the clock")


async def take_ready(queue: WorkQueue[str]) -> list[str]:
    """Every key get() hands out right now, without waiting."""
    taken = []
    while len(queue):
        taken.append(await queue.get())
    return taken


# Each step: ("add", key) | ("get", expected) | ("done", key); then the keys ready in order.
SCENARIOS = [
    ("duplicate adds collapse into one", [("add", "a"), ("add", "a"), ("add", "b")], ["a", "b"]),
    ("a key added while processing waits for done",
     [("add", "a"), ("get", "a"), ("add", "a")], []),
    ("a key added while processing comes back after done",
     [("add", "a"), ("get", "a"), ("add", "a"), ("done", "a")], ["a"]),
    ("adds during processing collapse into one re-queue",
     [("add", "a"), ("get", "a"), ("add", "a"), ("add", "a"), ("done", "a")], ["a"]),
    ("done without a new add does not re-queue", [("add", "a"), ("get", "a"), ("done", "a")], []),
    ("order is first in first out", [("add", "c"), ("add", "a"), ("add", "b")], ["c", "a", "b"]),
]


@pytest.mark.parametrize(("steps", "ready"), [(s, r) for _, s, r in SCENARIOS],
                         ids=[name for name, _, _ in SCENARIOS])
async def test_queue_semantics(steps: list[tuple[str, str]], ready: list[str]) -> None:
    queue = new_queue()
    for action, key in steps:
        if action == "add":
            queue.add(key)
        elif action == "get":
            assert await queue.get() == key
        else:
            queue.done(key)
    assert await take_ready(queue) == ready


async def test_no_key_is_handed_to_two_workers_at_once() -> None:
    queue = new_queue()
    queue.add("a")
    first = await queue.get()
    queue.add("a")
    second_worker = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not second_worker.done(), "the key is still being processed by the first worker"
    queue.done(first)
    assert await asyncio.wait_for(second_worker, 1) == "a"


@pytest.mark.parametrize(("failures", "expected_delay"), [
    (0, 0.005), (1, 0.010), (2, 0.020), (10, 5.12), (17, 655.36), (18, 1000.0), (40, 1000.0)],
    ids=lambda v: str(v))
def test_per_key_backoff_doubles_from_5ms_up_to_1000s(failures: int,
                                                      expected_delay: float) -> None:
    limiter = ItemExponentialFailureRateLimiter(0.005, 1000.0)
    for _ in range(failures):
        limiter.when("a")
    assert limiter.when("a") == pytest.approx(expected_delay)
    assert limiter.when("b") == pytest.approx(0.005), "another key has its own back-off"


async def test_rate_limited_add_lands_only_after_its_backoff() -> None:
    clock = FakeClock()
    queue = new_queue(clock)
    for _ in range(3):
        queue.add_rate_limited("a")  # 5 ms, then 10 ms, then 20 ms: the earliest time wins
    assert len(queue) == 0 and queue.num_requeues("a") == 3
    clock.advance(0.004)
    queue._promote_due()
    assert len(queue) == 0
    clock.advance(0.001)
    assert await asyncio.wait_for(queue.get(), 1) == "a"


async def test_forget_resets_the_backoff() -> None:
    queue = new_queue()
    for _ in range(5):
        queue.add_rate_limited("a")
    queue.forget("a")
    assert queue.num_requeues("a") == 0


async def test_a_waiting_worker_wakes_when_a_delayed_key_comes_due() -> None:
    clock = FakeClock()
    queue = new_queue(clock)
    queue.add_after("later", 30.0)
    worker = asyncio.create_task(queue.get())
    await until_sleeping(clock)
    assert not worker.done()
    clock.advance(30.0)
    assert await asyncio.wait_for(worker, 1) == "later"


async def test_an_earlier_delayed_add_wakes_a_worker_sleeping_for_a_later_one() -> None:
    clock = FakeClock()
    queue = new_queue(clock)
    queue.add_after("late", 60.0)
    worker = asyncio.create_task(queue.get())
    await until_sleeping(clock)
    queue.add_after("soon", 1.0)
    await asyncio.sleep(0)
    clock.advance(1.0)
    assert await asyncio.wait_for(worker, 1) == "soon"
    assert queue.pending_delays == 1


async def test_shutdown_drains_queued_keys_then_stops_workers() -> None:
    queue = new_queue()
    queue.add("a")
    queue.add_after("delayed", 5)
    queue.shut_down()
    queue.add("ignored")
    assert await queue.get() == "a"
    with pytest.raises(ShutDown):
        await queue.get()


async def test_shutdown_wakes_an_idle_worker() -> None:
    queue = new_queue()
    worker = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.shut_down()
    with pytest.raises(ShutDown):
        await asyncio.wait_for(worker, 1)
