"""Scores: upstream's formulas on hand-computed cases, and the weighted choice between nodes."""

from __future__ import annotations

import random
from typing import Any

import pytest
from scheduler_objects import cluster, pod, pod_dict, zoned_node

from kubeadmpy.scheduler.algorithm import Algorithm
from kubeadmpy.scheduler.framework import SKIP, ScorePlugin
from kubeadmpy.scheduler.interpod import InterPodAffinityScore
from kubeadmpy.scheduler.model import PodInfo, pod_info
from kubeadmpy.scheduler.scores import (
    BalancedAllocation,
    ImageLocality,
    LeastAllocated,
    NodeAffinityScore,
    TaintTolerationScore,
)
from kubeadmpy.scheduler.simulated import simulated_node
from kubeadmpy.scheduler.snapshot import ClusterSnapshot
from kubeadmpy.scheduler.spread import PodTopologySpreadScore

MB = 1024 * 1024


def scores(plugin: ScorePlugin, incoming: PodInfo, snapshot: ClusterSnapshot) -> dict[str, int]:
    nodes = snapshot.node_infos()
    state = plugin.pre_score(incoming, snapshot, nodes)
    assert state is not SKIP
    raw = [plugin.score(state, incoming, n) for n in nodes]
    plugin.normalize(state, nodes, raw)
    return {n.name: s for n, s in zip(nodes, raw, strict=True)}


def test_least_allocated_prefers_the_emptier_node() -> None:
    snapshot = cluster(simulated_node("n1", cpu="4", memory="4Gi"),
                       simulated_node("n2", cpu="4", memory="4Gi"),
                       pods=(pod_dict("x", cpu="3", memory="1Gi", node="n1"),))
    # n1: cpu (4000-3000-1000)/4000 -> 0, memory (4096-1024-1024)/4096 -> 50; (0+50)/2 = 25
    # n2: cpu 75, memory 75 -> 75
    assert scores(LeastAllocated(), pod(cpu="1", memory="1Gi"), snapshot) == {"n1": 25, "n2": 75}


def test_least_allocated_counts_pods_without_requests_as_100m_and_200mi() -> None:
    snapshot = cluster(simulated_node("n1", cpu="1", memory="1000Mi"))
    # cpu (1000-100)*100/1000 = 90; memory (1000-200)*100/1000 = 80; (90+80)/2 = 85
    assert scores(LeastAllocated(), pod(), snapshot) == {"n1": 85}


def test_balanced_allocation_rewards_equal_cpu_and_memory_fractions() -> None:
    snapshot = cluster(simulated_node("n1", cpu="4", memory="4Gi"),
                       simulated_node("n2", cpu="4", memory="4Gi"),
                       pods=(pod_dict("x", cpu="2", node="n2"),))
    # n1: 0.25/0.25 -> 100; n2: cpu 0.75, memory 0.25 -> 1 - 0.25 = 75
    assert scores(BalancedAllocation(), pod(cpu="1", memory="1Gi"), snapshot) == {
        "n1": 100, "n2": 75}


def test_preferred_node_affinity_is_scaled_to_the_best_node() -> None:
    snapshot = cluster(simulated_node("n1", labels={"disk": "ssd", "gpu": "yes"}),
                       simulated_node("n2", labels={"disk": "ssd"}), simulated_node("n3"))
    preferred = {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 30, "preference": {"matchExpressions": [
            {"key": "disk", "operator": "In", "values": ["ssd"]}]}},
        {"weight": 70, "preference": {"matchExpressions": [
            {"key": "gpu", "operator": "Exists"}]}}]}}}
    assert scores(NodeAffinityScore(), pod(spec=preferred), snapshot) == {
        "n1": 100, "n2": 30, "n3": 0}


def test_taint_toleration_scores_fewer_prefer_no_schedule_taints_higher() -> None:
    soft = {"effect": "PreferNoSchedule"}
    snapshot = cluster(simulated_node("n1"),
                       simulated_node("n2", taints=[{"key": "a", **soft}]),
                       simulated_node("n3", taints=[{"key": "a", **soft}, {"key": "b", **soft}]))
    assert scores(TaintTolerationScore(), pod(), snapshot) == {"n1": 100, "n2": 50, "n3": 0}
    tolerant = pod(spec={"tolerations": [{"key": "b", "operator": "Exists"}]})
    assert scores(TaintTolerationScore(), tolerant, snapshot) == {"n1": 100, "n2": 0, "n3": 0}


def test_image_locality_prefers_nodes_that_have_the_image() -> None:
    image = "registry.local/app:1"
    snapshot = cluster(simulated_node("n1", images=[(image, 500 * MB)]),
                       simulated_node("n2", images=[(image, 500 * MB)]), simulated_node("n3"))
    # 500 MB * 2/3 nodes = 333 MB; (333-23)/(1000-23) -> 31
    assert scores(ImageLocality(), pod(), snapshot) == {"n1": 31, "n2": 31, "n3": 0}


def soft_spread(key: str) -> dict[str, Any]:
    return {"topologySpreadConstraints": [{
        "maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": "web"}}}]}


def test_schedule_anyway_spread_prefers_the_emptier_domain() -> None:
    web = {"app": "web"}
    snapshot = cluster(zoned_node("n1", "a"), zoned_node("n2", "b"), simulated_node("bare"),
                       pods=(pod_dict("w0", labels=web, node="n1"),
                             pod_dict("w1", labels=web, node="n1")))
    result = scores(PodTopologySpreadScore(), pod(labels=web, spec=soft_spread(
        "topology.kubernetes.io/zone")), snapshot)
    # two domains: weight log(4); n1 2*1.386 -> 3, n2 0; normalised 100*(3+0-s)/3
    assert result == {"n1": 0, "n2": 100, "bare": 0}


def test_preferred_pod_affinity_and_anti_affinity_score_domains() -> None:
    snapshot = cluster(zoned_node("n1", "a"), zoned_node("n2", "b"), zoned_node("n3", "c"),
                       pods=(pod_dict("cache", labels={"app": "cache"}, node="n1"),
                             pod_dict("noisy", labels={"app": "noisy"}, node="n2")))

    def term(app: str, weight: int) -> dict[str, Any]:
        return {"weight": weight, "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"app": app}},
            "topologyKey": "topology.kubernetes.io/zone"}}

    spec = {"affinity": {
        "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [term("cache", 10)]},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            term("noisy", 10)]}}}
    assert scores(InterPodAffinityScore(), pod(spec=spec), snapshot) == {
        "n1": 100, "n2": 0, "n3": 50}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ties_are_broken_at_random_but_reproducibly_with_a_seed(seed: int) -> None:
    nodes = [simulated_node(f"n{i}") for i in range(6)]
    first = [Algorithm(rng=random.Random(seed)).schedule(pod(), cluster(*nodes)).node_name
             for _ in range(3)]
    assert len(set(first)) == 1
    chosen = {Algorithm(rng=random.Random(s)).schedule(pod(), cluster(*nodes)).node_name
              for s in range(40)}
    assert len(chosen) > 1


def test_weights_make_a_preferred_node_beat_a_slightly_emptier_one() -> None:
    snapshot = cluster(simulated_node("busy", labels={"disk": "ssd"}), simulated_node("idle"),
                       pods=(pod_dict("x", cpu="1", node="busy"),))
    preferred = {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "preference": {"matchExpressions": [
            {"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}}}
    decision = Algorithm(rng=random.Random(0)).schedule(pod(spec=preferred), snapshot)
    assert decision.node_name == "busy"


def owned_by_replicaset(name: str, node: str = "") -> dict[str, Any]:
    raw = pod_dict(name, labels={"app": "web", "pod-template-hash": "abc"}, node=node)
    raw["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                           "name": "web-abc", "uid": "u", "controller": True}]
    return raw


def test_replicas_without_constraints_spread_by_upstreams_system_defaults() -> None:
    snapshot = cluster(zoned_node("a1", "a"), zoned_node("a2", "a"), zoned_node("b1", "b"),
                       pods=(owned_by_replicaset("web-1", "a1"), owned_by_replicaset("web-2", "a1")))
    snapshot.workloads["replicasets"] = {"default/web-abc": {
        "metadata": {"name": "web-abc", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web", "pod-template-hash": "abc"}}}}}
    result = scores(PodTopologySpreadScore(), pod_info(owned_by_replicaset("web-3")), snapshot)
    # hostname (skew 3, 3 domains): a1 2*log5+2 = 5.2, others 2; zone (skew 5, 2 domains):
    # zone a 2*log4+4 = 6.8, zone b 4 -> a1 12, a2 9, b1 6; normalised 100*(12+6-s)/12
    assert result == {"a1": 50, "a2": 75, "b1": 100}


def test_a_pod_selected_by_a_service_spreads_away_from_its_peers() -> None:
    web = {"app": "web"}
    snapshot = cluster(simulated_node("n1"), simulated_node("n2"),
                       pods=(pod_dict("w1", labels=web, node="n1"),))
    snapshot.workloads["services"] = {"default/web": {
        "metadata": {"name": "web", "namespace": "default"}, "spec": {"selector": web}}}
    result = scores(PodTopologySpreadScore(), pod(labels=web), snapshot)
    assert result["n2"] > result["n1"]


def test_a_lone_pod_gets_no_default_spreading() -> None:
    snapshot = cluster(simulated_node("n1"))
    assert PodTopologySpreadScore().pre_score(pod(), snapshot, snapshot.node_infos()) is SKIP
