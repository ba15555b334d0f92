"""Two leader electors on one Lease of the real apiserver: exactly one leads, and the other
takes over when the leader is cancelled (release) or vanishes (lease expiry). Short durations
keep it quick; assertions are about states and their order, never about elapsed time."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from apiserver_harness import Cluster
from client_harness import client_for, eventually

from kubeadmpy.client import Client, FakeClock, LeaderElectionConfig, LeaderElector

LEASE, RENEW, RETRY = 2.0, 1.5, 0.25


def elector(client: Client, identity: str, lease_name: str, release: bool = True
            ) -> LeaderElector:
    return LeaderElector(client, LeaderElectionConfig(
        lease_name, "default", identity, LEASE, RENEW, RETRY, release_on_cancel=release))


class Candidates:
    """Runs electors whose `lead()` marks them as working; records any overlap."""

    def __init__(self) -> None:
        self.working: set[str] = set()
        self.order: list[str] = []
        self.overlap = False

    def lead(self, identity: str) -> Any:
        async def work() -> None:
            if self.working:
                self.overlap = True
            self.working.add(identity)
            self.order.append(identity)
            try:
                await asyncio.Event().wait()
            finally:
                self.working.discard(identity)
        return work


async def spec(client: Client, lease_name: str) -> dict[str, Any]:
    return dict((await client.get("leases", lease_name, "default"))["spec"])


async def test_exactly_one_leads_and_the_other_takes_over_when_the_leader_is_cancelled(
        cluster: Cluster) -> None:
    candidates = Candidates()
    async with client_for(cluster) as client, asyncio.TaskGroup() as group:
        one, two = elector(client, "one", "handover"), elector(client, "two", "handover")
        task_one = group.create_task(one.run(candidates.lead("one")))
        await eventually(lambda: one.is_leader, "the first candidate leads")
        task_two = group.create_task(two.run(candidates.lead("two")))
        await eventually(lambda: two.leader == "one", "the second sees the first lead")
        assert candidates.working == {"one"} and not two.is_leader
        first = await spec(client, "handover")
        assert (first["holderIdentity"], first["leaseTransitions"]) == ("one", 0)
        assert first["leaseDurationSeconds"] == 2

        task_one.cancel()
        await eventually(lambda: two.is_leader, "the second takes over")
        await eventually(lambda: candidates.working == {"two"}, "the second works")
        second = await spec(client, "handover")
        assert second["holderIdentity"] == "two"
        assert second["leaseTransitions"] == 1
        assert second["acquireTime"] > first["acquireTime"]
        assert candidates.order == ["one", "two"] and not candidates.overlap
        assert two.transitions_seen == ["one", "two"]
        task_two.cancel()
    released = await _final_spec(cluster, "handover")
    assert released["holderIdentity"] in ("", None), "cancel releases the lease"


async def test_a_vanished_leader_is_replaced_only_after_its_lease_expires(
        cluster: Cluster) -> None:
    candidates = Candidates()
    async with client_for(cluster) as client, asyncio.TaskGroup() as group:
        # release_on_cancel=False: like a SIGKILLed process, the Lease still names it.
        one = elector(client, "one", "expiry", release=False)
        two = elector(client, "two", "expiry")
        task_one = group.create_task(one.run(candidates.lead("one")))
        await eventually(lambda: one.is_leader, "the first candidate leads")
        task_two = group.create_task(two.run(candidates.lead("two")))
        await eventually(lambda: two.leader == "one", "the second sees the first lead")
        task_one.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task_one
        assert (await spec(client, "expiry"))["holderIdentity"] == "one", "not released"
        await eventually(lambda: two.is_leader, "the second takes over after expiry")
        assert (await spec(client, "expiry"))["leaseTransitions"] == 1
        assert candidates.order == ["one", "two"] and not candidates.overlap
        task_two.cancel()


async def test_a_leader_that_cannot_renew_steps_down(own_cluster: Cluster) -> None:
    stopped: list[str] = []
    candidates = Candidates()
    async with client_for(own_cluster) as client:
        leader = LeaderElector(client, LeaderElectionConfig(
            "renewal", "default", "solo", LEASE, RENEW, RETRY),
            on_stopped_leading=lambda: stopped.append("solo"))
        async with asyncio.TaskGroup() as group:
            running = group.create_task(leader.run(candidates.lead("solo")))
            await eventually(lambda: leader.is_leader, "the candidate leads")
            await asyncio.to_thread(own_cluster.apiserver.stop)
            await asyncio.wait_for(running, 30)  # returns on its own once the deadline passes
        assert not leader.is_leader and stopped == ["solo"]
        assert candidates.working == set(), "the leader's work was cancelled"


async def _final_spec(cluster: Cluster, lease_name: str) -> dict[str, Any]:
    async with client_for(cluster) as client:
        return await spec(client, lease_name)


async def test_expiry_is_judged_on_the_candidates_own_clock(cluster: Cluster) -> None:
    """With an injected clock, takeover happens exactly when that clock passes the lease
    duration since the last change the candidate observed — not before, whatever real time
    has passed."""
    clock = FakeClock()
    async with client_for(cluster) as client, asyncio.TaskGroup() as group:
        config = LeaderElectionConfig("fake-clock", "default", "one", LEASE, RENEW, RETRY,
                                      release_on_cancel=False)
        one = LeaderElector(client, config, clock=clock)
        two = LeaderElector(client, LeaderElectionConfig(
            "fake-clock", "default", "two", LEASE, RENEW, RETRY), clock=clock)
        task_one = group.create_task(one.run(Candidates().lead("one")))
        await eventually(lambda: one.is_leader, "the first candidate leads")
        task_one.cancel()  # gone without releasing, like a killed process
        with contextlib.suppress(asyncio.CancelledError):
            await task_one
        task_two = group.create_task(two.run(Candidates().lead("two")))
        await eventually(lambda: two.leader == "one" and clock.waiters == 1,
                         "the second saw the lease held and sleeps a retry period")
        clock.advance(LEASE - RETRY)  # several retry periods, still inside the lease
        await eventually(lambda: clock.waiters == 1, "retried and went back to sleep")
        await asyncio.sleep(0.2)
        assert not two.is_leader, "the lease has not expired on the candidate's clock"
        clock.advance(RETRY * 2)
        await eventually(lambda: two.is_leader, "the second takes over once expired")
        task_two.cancel()
