"""The whole decision: the FailedScheduling message shape, and how many nodes are searched."""

from __future__ import annotations

import random

import pytest
from scheduler_objects import cluster, pod, pod_dict

from kubeadmpy.scheduler.algorithm import Algorithm, FitError, feasible_nodes_to_find
from kubeadmpy.scheduler.simulated import simulated_node, simulated_nodes

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def fit_error_message(incoming: object, *nodes: dict[str, object], pods: tuple[dict, ...] = ()
                      ) -> str:
    snapshot = cluster(*nodes, pods=pods)
    with pytest.raises(FitError) as caught:
        Algorithm(rng=random.Random(0)).schedule(incoming, snapshot)  # type: ignore[arg-type]
    return caught.value.message


def test_the_issue_example_taint_and_node_affinity() -> None:
    message = fit_error_message(
        pod(spec={"nodeSelector": {"disk": "ssd"}}),
        simulated_node("cp", labels={"disk": "ssd"}, taints=[CP_TAINT]),
        simulated_node("w1"), simulated_node("w2"))
    assert message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 2 node(s) didn't match Pod's node "
        "affinity/selector. preemption: 0/3 nodes are available: "
        "3 Preemption is not helpful for scheduling.")


def test_a_mix_of_resolvable_and_unresolvable_reasons() -> None:
    message = fit_error_message(
        pod(cpu="2", memory="3Gi"),
        simulated_node("cp", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}]),
        simulated_node("small-1", cpu="1", memory="2Gi"),
        simulated_node("small-2", cpu="1", memory="8Gi"),
        simulated_node("down", ready=False))
    assert message == (
        "0/4 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {k: v}, "
        "1 node(s) were not ready, 2 Insufficient cpu. preemption: 0/4 nodes are available: "
        "2 No preemption victims found for incoming pod, "
        "2 Preemption is not helpful for scheduling.")


def test_a_failure_before_any_node_is_reported_once() -> None:
    message = fit_error_message(
        pod(spec={"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "gone"}}]}),
        simulated_node("n1"), simulated_node("n2"))
    assert message == (
        '0/2 nodes are available: persistentvolumeclaim "gone" not found. '
        "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")


def test_a_pod_that_may_not_preempt_says_so() -> None:
    message = fit_error_message(pod(cpu="8", spec={"preemptionPolicy": "Never"}),
                                simulated_node("n1", cpu="1"))
    assert message == ("0/1 nodes are available: 1 Insufficient cpu. "
                       "preemption: not eligible due to preemptionPolicy=Never.")


def test_no_nodes_at_all() -> None:
    assert fit_error_message(pod()) == "no nodes available to schedule pods"


def test_fit_error_lists_the_plugins_that_rejected_the_pod() -> None:
    snapshot = cluster(simulated_node("a", taints=[CP_TAINT]), simulated_node("b", cpu="1"))
    with pytest.raises(FitError) as caught:
        Algorithm().schedule(pod(cpu="2"), snapshot)
    assert caught.value.diagnosis.unschedulable_plugins == {"TaintToleration", "NodeResourcesFit"}


@pytest.mark.parametrize(("nodes", "expected"), [
    (50, 50), (100, 100), (500, 230), (1000, 420), (5000, 500), (6000, 300), (20000, 1000),
], ids=lambda v: str(v))
def test_the_adaptive_share_of_nodes_searched(nodes: int, expected: int) -> None:
    assert feasible_nodes_to_find(nodes) == expected


def test_the_search_stops_early_and_the_next_pod_starts_where_it_stopped() -> None:
    snapshot = cluster(*simulated_nodes(1000))
    algorithm = Algorithm(rng=random.Random(0))
    first = algorithm.schedule(pod("a"), snapshot)
    assert (first.evaluated, first.feasible) == (420, 420)
    second = algorithm.schedule(pod("b"), snapshot)
    third = algorithm.schedule(pod("c"), snapshot)
    # three searches of 420 nodes cover all 1,000 nodes, wrapping round
    chosen = [int(d.node_name.split("-")[1]) for d in (first, second, third)]
    assert chosen[0] < 420 and 420 <= chosen[1] < 840 and (chosen[2] >= 840 or chosen[2] < 260)


def test_assumed_pods_fill_nodes_one_after_another() -> None:
    snapshot = cluster(simulated_node("n1", cpu="1"), simulated_node("n2", cpu="1"))
    algorithm = Algorithm(rng=random.Random(0))
    placed = []
    for index in range(4):
        incoming = pod(f"p{index}", cpu="500m")
        decision = algorithm.schedule(incoming, snapshot)
        snapshot.assume(incoming, decision.node_name)
        placed.append(decision.node_name)
    assert sorted(placed) == ["n1", "n1", "n2", "n2"]
    with pytest.raises(FitError, match="2 Insufficient cpu"):
        algorithm.schedule(pod("p5", cpu="500m"), snapshot)


def test_pods_on_a_node_count_against_it() -> None:
    snapshot = cluster(simulated_node("n1", cpu="1"), simulated_node("n2", cpu="1"),
                       pods=(pod_dict("big", cpu="800m", node="n1"),))
    assert Algorithm().schedule(pod(cpu="500m"), snapshot).node_name == "n2"
