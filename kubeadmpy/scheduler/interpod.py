"""Inter-pod affinity and anti-affinity: the required filter and the preferred score.

Both work on topology domains, not nodes: a term is satisfied on a node when some pod matching
it runs on *any* node with the same value for the term's topologyKey. So, once per pod, we count
matching pods per (topologyKey, value) pair across the cluster; each node then costs a few
dict look-ups. Existing pods' required anti-affinity is symmetric: a pod may not land in a domain
where a running pod's anti-affinity term matches it. As upstream, the first pod of a group whose
affinity selects itself may go anywhere (otherwise such a group could never start).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from kubeadmpy.scheduler import framework as fw
from kubeadmpy.scheduler.framework import SKIP, FilterPlugin, ScorePlugin, Status
from kubeadmpy.scheduler.model import AffinityTerm, PodInfo
from kubeadmpy.scheduler.snapshot import ClusterSnapshot, NodeInfo

AFFINITY_MISMATCH = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY_MISMATCH = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY_MISMATCH = "node(s) didn't satisfy existing pods anti-affinity rules"
HARD_POD_AFFINITY_WEIGHT = 1  # upstream's default hardPodAffinityWeight

Pair = tuple[str, str]


@dataclass(slots=True)
class _FilterState:
    existing_anti: Counter[Pair]
    affinity: Counter[Pair]
    anti: Counter[Pair]
    self_affine: bool  # the pod matches all its own affinity terms


def _pair(term: AffinityTerm, node: NodeInfo) -> Pair | None:
    value = node.node.labels.get(term.topology_key)
    return None if value is None else (term.topology_key, value)


class InterPodAffinity(FilterPlugin):
    name: ClassVar[str] = "InterPodAffinity"
    events: ClassVar[frozenset[str]] = frozenset({
        fw.NODE_ADD, fw.NODE_UPDATE, fw.ASSIGNED_POD_ADD, fw.ASSIGNED_POD_UPDATE,
        fw.ASSIGNED_POD_DELETE, fw.NAMESPACE_CHANGE})

    def pre_filter(self, pod: PodInfo, snapshot: ClusterSnapshot) -> Any:
        ns_labels = snapshot.namespace_labels
        existing_anti: Counter[Pair] = Counter()
        for info in snapshot.affinity_nodes(required_anti_only=True):
            for other in info.pods_with_required_anti_affinity.values():
                for term in other.required_anti_affinity:
                    pair = _pair(term, info)
                    if pair is not None and term.matches(pod, ns_labels):
                        existing_anti[pair] += 1
        affinity: Counter[Pair] = Counter()
        anti: Counter[Pair] = Counter()
        if pod.required_affinity or pod.required_anti_affinity:
            for info, other in snapshot.all_pods():
                if pod.required_affinity and all(
                        t.matches(other, ns_labels) for t in pod.required_affinity):
                    for term in pod.required_affinity:
                        pair = _pair(term, info)
                        if pair is not None:
                            affinity[pair] += 1
                for term in pod.required_anti_affinity:
                    pair = _pair(term, info)
                    if pair is not None and term.matches(other, ns_labels):
                        anti[pair] += 1
        elif not existing_anti:
            return SKIP
        self_affine = all(t.matches(pod, ns_labels) for t in pod.required_affinity)
        return _FilterState(existing_anti, affinity, anti, self_affine)

    def filter(self, state: _FilterState, pod: PodInfo, node: NodeInfo) -> Status | None:
        labels = node.node.labels
        if pod.required_affinity:
            pods_exist = True
            for term in pod.required_affinity:
                value = labels.get(term.topology_key)
                if value is None:  # every topology key must exist on the node
                    return Status.unresolvable(self.name, AFFINITY_MISMATCH)
                if state.affinity[(term.topology_key, value)] <= 0:
                    pods_exist = False
            if not pods_exist and not (not state.affinity and state.self_affine):
                return Status.unresolvable(self.name, AFFINITY_MISMATCH)
        for term in pod.required_anti_affinity:
            value = labels.get(term.topology_key)
            if value is not None and state.anti[(term.topology_key, value)] > 0:
                return Status.unschedulable(self.name, ANTI_AFFINITY_MISMATCH)
        if state.existing_anti:
            for key, value in labels.items():
                if state.existing_anti.get((key, value), 0) > 0:
                    return Status.unschedulable(self.name, EXISTING_ANTI_AFFINITY_MISMATCH)
        return None


class InterPodAffinityScore(ScorePlugin):
    """Preferred terms of the pod and of running pods, weighted per topology domain."""

    name: ClassVar[str] = "InterPodAffinity"
    weight: ClassVar[int] = 2

    def pre_score(self, pod: PodInfo, snapshot: ClusterSnapshot, nodes: list[NodeInfo]) -> Any:
        wants_all = bool(pod.preferred_affinity or pod.preferred_anti_affinity)
        ns_labels = snapshot.namespace_labels
        scores: dict[str, Counter[str]] = {}

        def credit(term: AffinityTerm, info: NodeInfo, amount: int) -> None:
            value = info.node.labels.get(term.topology_key)
            if value is not None and amount:
                scores.setdefault(term.topology_key, Counter())[value] += amount

        nodes_to_visit = (snapshot.nodes.values() if wants_all
                          else snapshot.affinity_nodes(required_anti_only=False))
        for info in nodes_to_visit:
            others = info.pods.values() if wants_all else info.pods_with_affinity.values()
            for other in others:
                for term in pod.preferred_affinity:
                    if term.matches(other, ns_labels):
                        credit(term, info, term.weight)
                for term in pod.preferred_anti_affinity:
                    if term.matches(other, ns_labels):
                        credit(term, info, -term.weight)
                for term in other.required_affinity:
                    if term.matches(pod, ns_labels):
                        credit(term, info, HARD_POD_AFFINITY_WEIGHT)
                for term in other.preferred_affinity:
                    if term.matches(pod, ns_labels):
                        credit(term, info, term.weight)
                for term in other.preferred_anti_affinity:
                    if term.matches(pod, ns_labels):
                        credit(term, info, -term.weight)
        return scores or SKIP

    def score(self, state: dict[str, Counter[str]], pod: PodInfo, node: NodeInfo) -> int:
        labels = node.node.labels
        return sum(values[labels[key]] for key, values in state.items() if key in labels)

    def normalize(self, state: Any, nodes: list[NodeInfo], scores: list[int]) -> None:
        if not scores:
            return
        low, high = min(scores), max(scores)
        spread = high - low
        scores[:] = [fw.MAX_NODE_SCORE * (s - low) // spread if spread > 0 else 0 for s in scores]
