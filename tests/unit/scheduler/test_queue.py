"""The scheduling queue on a fake clock: order, back-off, re-queue on events, the 5-minute flush."""

from __future__ import annotations

import asyncio

import pytest
from scheduler_objects import pod

from kubeadmpy.client.clock import FakeClock
from kubeadmpy.scheduler.algorithm import default_filters
from kubeadmpy.scheduler.framework import ASSIGNED_POD_DELETE, NODE_ADD, NODE_UPDATE
from kubeadmpy.scheduler.queue import QueuedPod, SchedulingQueue


def new_queue() -> tuple[SchedulingQueue, FakeClock]:
    clock = FakeClock()
    events = {p.name: p.events for p in default_filters()}
    return SchedulingQueue(events, clock=clock), clock


def popped(queue: SchedulingQueue) -> QueuedPod:
    queued = queue.pop_nowait()
    assert queued is not None
    return queued


def test_older_pods_go_first_among_equals_even_when_they_arrive_later() -> None:
    queue, _ = new_queue()
    queue.add(pod("young", created="2026-01-01T00:00:09Z"))
    queue.add(pod("old", created="2026-01-01T00:00:01Z"))
    assert [popped(queue).pod.name for _ in range(2)] == ["old", "young"]


def test_higher_priority_first_then_the_order_pods_arrived() -> None:
    queue, clock = new_queue()
    for name, priority in (("low-1", 0), ("high", 1000), ("low-2", 0), ("mid", 10)):
        queue.add(pod(name, priority=priority))
        clock.advance(0.001)
    assert [popped(queue).pod.name for _ in range(4)] == ["high", "mid", "low-1", "low-2"]
    assert queue.pop_nowait() is None


def test_back_off_doubles_from_one_second_up_to_ten() -> None:
    queue, clock = new_queue()
    queue.add(pod("p"))
    waits = []
    for _ in range(6):
        queued = popped(queue)
        queue.add_backoff(queued)
        assert queue.where("default/p") == "backoff"
        waits.append(queue.backoff_seconds(queued))
        clock.advance(queue.backoff_seconds(queued) - 0.01)
        assert queue.flush_backoff() == 0
        clock.advance(0.01)
        assert queue.flush_backoff() == 1
        assert queue.where("default/p") == "active"
    assert waits == [1, 2, 4, 8, 10, 10]


def test_an_unschedulable_pod_waits_for_an_event_its_plugins_care_about() -> None:
    queue, clock = new_queue()
    queue.add(pod("p"))
    queued = popped(queue)
    queue.add_unschedulable(queued, frozenset({"NodeResourcesFit"}))
    assert queue.where("default/p") == "unschedulable"
    assert queue.on_event("NamespaceChange") == 0  # cannot help a resource shortage
    clock.advance(5)
    assert queue.on_event(ASSIGNED_POD_DELETE) == 1  # room may have been freed
    assert queue.where("default/p") == "active"


def test_a_pod_moved_by_an_event_during_its_back_off_waits_it_out() -> None:
    queue, clock = new_queue()
    queue.add(pod("p"))
    queue.add_unschedulable(popped(queue), frozenset({"TaintToleration"}))
    clock.advance(0.5)
    queue.on_event(NODE_UPDATE)
    assert queue.where("default/p") == "backoff"
    clock.advance(0.5)
    queue.flush_backoff()
    assert queue.where("default/p") == "active"


def test_an_event_during_the_scheduling_attempt_sends_the_pod_to_back_off() -> None:
    queue, _ = new_queue()
    queue.add(pod("p"))
    queued = popped(queue)
    queue.on_event(NODE_ADD)  # a node appeared while the algorithm ran
    queue.add_unschedulable(queued, frozenset({"NodeAffinity"}))
    assert queue.where("default/p") == "backoff"


def test_unschedulable_pods_are_retried_after_five_minutes_anyway() -> None:
    queue, clock = new_queue()
    queue.add(pod("p"))
    queue.add_unschedulable(popped(queue), frozenset({"NodeAffinity"}))
    clock.advance(299)
    assert queue.flush_unschedulable() == 0
    clock.advance(2)
    assert queue.flush_unschedulable() == 1
    assert queue.where("default/p") == "active"


def test_an_update_to_an_unschedulable_pod_retries_it() -> None:
    queue, clock = new_queue()
    queue.add(pod("p"))
    queue.add_unschedulable(popped(queue), frozenset({"NodeAffinity"}))
    clock.advance(10)
    queue.update(pod("p", spec={"nodeSelector": {}}))
    assert queue.where("default/p") == "active"


def test_deleted_pods_leave_every_queue_and_late_results_are_dropped() -> None:
    queue, _ = new_queue()
    queue.add(pod("p"))
    queued = popped(queue)
    queue.delete("default/p")
    queue.add_unschedulable(queued, frozenset({"NodeAffinity"}))
    assert queue.where("default/p") is None and len(queue) == 0


def test_adding_a_pod_twice_keeps_one_entry() -> None:
    queue, _ = new_queue()
    queue.add(pod("p"))
    queue.add(pod("p"))
    popped(queue)
    assert queue.pop_nowait() is None


@pytest.mark.timeout(10)
async def test_pop_waits_for_a_pod_and_the_flusher_moves_backed_off_pods() -> None:
    queue, clock = new_queue()
    waiter = asyncio.ensure_future(queue.pop())
    await asyncio.sleep(0)
    assert not waiter.done()
    queue.add(pod("p"))
    queued = await waiter
    queue.add_backoff(queued)
    flusher = asyncio.ensure_future(queue.run_flushers())
    try:
        while clock.waiters == 0:  # noqa: ASYNC110 - the fake clock offers no event for this
            await asyncio.sleep(0)
        second = asyncio.ensure_future(queue.pop())
        clock.advance(1)
        assert (await second).pod.name == "p"
    finally:
        flusher.cancel()


def test_a_status_only_update_leaves_an_unschedulable_pod_waiting() -> None:
    queue, clock = new_queue()
    queue.add(pod("p"))
    queue.add_unschedulable(popped(queue), frozenset({"NodeAffinity"}))
    clock.advance(10)
    queue.update(pod("p"), spec_changed=False)  # e.g. our own PodScheduled condition
    assert queue.where("default/p") == "unschedulable"


def test_a_pod_rejected_before_any_plugin_ran_moves_on_any_event() -> None:
    queue, clock = new_queue()
    queue.add(pod("p"))
    queue.add_unschedulable(popped(queue), frozenset())  # e.g. there were no nodes at all
    clock.advance(10)
    assert queue.on_event(NODE_ADD) == 1
