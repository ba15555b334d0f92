"""Topology spread's indexed fast path gives the verdicts of the full scan, on random clusters."""

from __future__ import annotations

import random

import pytest
from scheduler_objects import cluster, pod, pod_dict, zoned_node

from kubeadmpy.scheduler import spread
from kubeadmpy.scheduler.model import PodInfo
from kubeadmpy.scheduler.snapshot import ClusterSnapshot
from kubeadmpy.scheduler.spread import PodTopologySpread


def random_case(seed: int) -> tuple[ClusterSnapshot, PodInfo]:
    rng = random.Random(seed)
    nodes = [zoned_node(f"n{i}", f"zone-{rng.randrange(3)}") for i in range(rng.randrange(1, 9))]
    pods = tuple(
        pod_dict(f"p{i}", namespace=rng.choice(["default", "other"]),
                 labels={"app": rng.choice(["web", "db"])},
                 node=rng.choice(nodes)["metadata"]["name"])
        for i in range(rng.randrange(0, 15)))
    snapshot = cluster(*nodes, pods=pods)
    for _ in range(rng.randrange(3)):  # some pods leave again
        if pods:
            snapshot.remove_pod(f"{rng.choice(pods)['metadata']['namespace']}/"
                                f"{rng.choice(pods)['metadata']['name']}")
    constraint = {"maxSkew": rng.randrange(1, 3), "whenUnsatisfiable": "DoNotSchedule",
                  "topologyKey": rng.choice(["topology.kubernetes.io/zone",
                                             "kubernetes.io/hostname"]),
                  "minDomains": rng.randrange(1, 5),
                  "labelSelector": {"matchLabels": {"app": "web"}}}
    incoming = pod("new", labels={"app": "web"}, spec={"topologySpreadConstraints": [constraint]})
    return snapshot, incoming


@pytest.mark.parametrize("seed", range(60))
def test_the_index_and_the_full_scan_agree(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot, incoming = random_case(seed)
    assert spread._every_node_is_a_domain(incoming, incoming.spread_constraints, snapshot)
    plugin = PodTopologySpread()
    fast = plugin.pre_filter(incoming, snapshot)
    fast_verdicts = {n.name: plugin.filter(fast, incoming, n)
                     for n in snapshot.node_infos()}
    monkeypatch.setattr(spread, "_every_node_is_a_domain", lambda *_: False)
    slow = plugin.pre_filter(incoming, snapshot)
    slow_verdicts = {n.name: plugin.filter(slow, incoming, n)
                     for n in snapshot.node_infos()}
    assert fast.minimums == slow.minimums
    assert [{k: v for k, v in c.items() if v} for c in fast.counts] == \
        [{k: v for k, v in c.items() if v} for c in slow.counts]
    assert fast_verdicts == slow_verdicts
