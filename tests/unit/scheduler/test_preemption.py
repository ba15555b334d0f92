"""Preemption: who is evicted, where, what the event says when nobody can be, and the room a
preempting pod keeps while its victims terminate."""

from __future__ import annotations

import random

import pytest
from scheduler_objects import cluster, pod, pod_dict

from kubeadmpy.scheduler.algorithm import Algorithm, FitError
from kubeadmpy.scheduler.simulated import simulated_node
from kubeadmpy.scheduler.snapshot import ClusterSnapshot


def failure(incoming: object, snapshot: ClusterSnapshot) -> FitError:
    with pytest.raises(FitError) as caught:
        Algorithm(rng=random.Random(0)).schedule(incoming, snapshot)  # type: ignore[arg-type]
    return caught.value


def test_the_fewest_lowest_priority_victims_are_chosen_and_the_rest_reprieved() -> None:
    snapshot = cluster(simulated_node("n1", cpu="2"), pods=(
        pod_dict("low-a", cpu="500m", node="n1", priority=1),
        pod_dict("low-b", cpu="500m", node="n1", priority=2),
        pod_dict("mid", cpu="1", node="n1", priority=50)))
    error = failure(pod("urgent", cpu="1", priority=100), snapshot)
    assert error.nominee is not None and error.nominee.node == "n1"
    # removing both 500m pods makes room; 'mid' (more important) is reprieved
    assert sorted(v.name for v in error.nominee.victims) == ["low-a", "low-b"]
    assert error.message == "0/1 nodes are available: 1 Insufficient cpu."


def test_the_node_with_the_least_important_victims_is_preferred() -> None:
    snapshot = cluster(simulated_node("a", cpu="1"), simulated_node("b", cpu="1"), pods=(
        pod_dict("on-a", cpu="1", node="a", priority=10),
        pod_dict("on-b", cpu="1", node="b", priority=5)))
    error = failure(pod("urgent", cpu="1", priority=100), snapshot)
    assert error.nominee is not None
    assert (error.nominee.node, [v.name for v in error.nominee.victims]) == ("b", ["on-b"])


def test_the_what_if_leaves_the_snapshot_as_it_was() -> None:
    snapshot = cluster(simulated_node("n1", cpu="1"), pods=(
        pod_dict("x", cpu="600m", node="n1", priority=1),
        pod_dict("y", cpu="400m", node="n1", priority=2)))
    before = (snapshot.nodes["n1"].requested.milli_cpu, sorted(snapshot.nodes["n1"].pods))
    failure(pod("urgent", cpu="500m", priority=100), snapshot)
    assert (snapshot.nodes["n1"].requested.milli_cpu, sorted(snapshot.nodes["n1"].pods)) == before


def test_nothing_to_preempt_says_why_per_node() -> None:
    snapshot = cluster(
        simulated_node("tainted", taints=[{"key": "k", "effect": "NoSchedule"}]),
        simulated_node("important", cpu="1"), simulated_node("empty-but-small", cpu="500m"),
        pods=(pod_dict("vip", cpu="1", node="important", priority=1000),))
    error = failure(pod("p", cpu="1", priority=10), snapshot)
    assert error.nominee is None
    assert error.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {k: }, 2 Insufficient cpu. "
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.")


def test_anti_affinity_can_be_resolved_by_preemption() -> None:
    web = {"app": "web"}
    anti = {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": web}, "topologyKey": "kubernetes.io/hostname"}]}}}
    snapshot = cluster(simulated_node("n1"), pods=(
        pod_dict("old-web", labels=web, node="n1", priority=1),))
    error = failure(pod("new-web", labels=web, spec=anti, priority=100), snapshot)
    assert error.nominee is not None and [v.name for v in error.nominee.victims] == ["old-web"]


def test_a_nominated_pod_keeps_its_room_from_lower_priority_pods() -> None:
    snapshot = cluster(simulated_node("n1", cpu="1"), simulated_node("n2", cpu="1"),
                       pods=(pod_dict("busy", cpu="1", node="n2"),))
    urgent = pod("urgent", cpu="1", priority=100)
    snapshot.nominate(urgent, "n1")
    error = failure(pod("filler", cpu="600m"), snapshot)
    assert error.diagnosis.node_statuses["n1"].reasons == ("Insufficient cpu",)
    # the nominated pod itself, and pods more important than it, still see the room
    assert Algorithm().schedule(urgent, snapshot).node_name == "n1"
    assert Algorithm().schedule(pod("vip", cpu="1", priority=200), snapshot).node_name == "n1"


def test_a_pod_waiting_for_its_victims_does_not_preempt_again() -> None:
    terminating = pod_dict("victim", cpu="1", node="n1", priority=1)
    terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    snapshot = cluster(simulated_node("n1", cpu="1"), pods=(terminating,))
    urgent = pod("urgent", cpu="1", priority=100)
    snapshot.nominate(urgent, "n1")
    error = failure(urgent, snapshot)
    assert error.nominee is None
    assert error.message.endswith(
        "preemption: not eligible due to a terminating pod on the nominated node.")
