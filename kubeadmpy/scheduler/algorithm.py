"""One scheduling decision: filter the nodes, score the feasible ones, pick the best.

Like upstream, the search stops once "enough" feasible nodes are found (adaptive
percentageOfNodesToScore: 50% minus 1% per 125 nodes, at least 5%, never fewer than 100 nodes)
and the next pod continues from where this one stopped, so all nodes get their turn and 5,000
nodes cost about as much as 500. Plugins run in upstream's default order; a node's first failing
filter is its reason. Ties between the best nodes are broken at random, uniformly, with the
caller's `random.Random` (seeded in tests). When no node fits, preemption (preemption.py) looks
for lower-priority victims; the FitError carries its candidate or its "preemption: ..." message.
Nodes where preempting pods wait are filtered as if those pods already ran there.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kubeadmpy.scheduler.filters import (
    NodeAffinity,
    NodeName,
    NodePorts,
    NodeReady,
    NodeResourcesFit,
    NodeUnschedulable,
    TaintToleration,
)
from kubeadmpy.scheduler.framework import SKIP, FilterPlugin, ScorePlugin, Status
from kubeadmpy.scheduler.interpod import InterPodAffinity, InterPodAffinityScore
from kubeadmpy.scheduler.model import PodInfo
from kubeadmpy.scheduler.preemption import Candidate, Outcome, preempt
from kubeadmpy.scheduler.scores import (
    BalancedAllocation,
    ImageLocality,
    LeastAllocated,
    NodeAffinityScore,
    TaintTolerationScore,
)
from kubeadmpy.scheduler.snapshot import ClusterSnapshot, NodeInfo
from kubeadmpy.scheduler.spread import PodTopologySpread, PodTopologySpreadScore
from kubeadmpy.scheduler.volumes import VolumeBinding

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5
DEFAULT_PERCENTAGE_BASE = 50
NO_NODES = "no nodes available to schedule pods"


def default_filters() -> list[FilterPlugin]:
    return [NodeReady(), NodeUnschedulable(), NodeName(), TaintToleration(), NodeAffinity(),
            NodePorts(), NodeResourcesFit(), VolumeBinding(), PodTopologySpread(),
            InterPodAffinity()]


def default_scorers(image_locality: bool = True) -> list[ScorePlugin]:
    scorers: list[ScorePlugin] = [
        TaintTolerationScore(), NodeAffinityScore(), PodTopologySpreadScore(),
        InterPodAffinityScore(), LeastAllocated(), BalancedAllocation()]
    if image_locality:
        scorers.append(ImageLocality())
    return scorers


def feasible_nodes_to_find(all_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes end the search; `percentage` 0 means upstream's adaptive value."""
    if all_nodes < MIN_FEASIBLE_NODES_TO_FIND or percentage >= 100:
        return all_nodes
    if percentage <= 0:
        percentage = max(DEFAULT_PERCENTAGE_BASE - all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE)
    return max(all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass(slots=True)
class Diagnosis:
    node_statuses: dict[str, Status] = field(default_factory=dict)
    pre_filter: Status | None = None

    @property
    def unschedulable_plugins(self) -> frozenset[str]:
        if self.pre_filter is not None:
            return frozenset({self.pre_filter.plugin})
        return frozenset(s.plugin for s in self.node_statuses.values())


class FitError(Exception):
    """No node fits: carries what the FailedScheduling event says."""

    def __init__(self, pod: PodInfo, all_nodes: int, diagnosis: Diagnosis,
                 preemption: Outcome | None = None) -> None:
        self.pod, self.all_nodes, self.diagnosis = pod, all_nodes, diagnosis
        self.preemption = preemption or Outcome(None, "")
        super().__init__(self.message)

    @property
    def nominee(self) -> Candidate | None:
        """Where the pod may go once the victims are gone (preemption found room)."""
        return self.preemption.candidate

    @property
    def message(self) -> str:
        """"0/3 nodes are available: <reasons>. preemption: ..." (upstream's shape)."""
        if self.all_nodes == 0:
            return NO_NODES
        text = f"0/{self.all_nodes} nodes are available:"
        if self.diagnosis.pre_filter is not None:
            text += f" {', '.join(self.diagnosis.pre_filter.reasons)}."
        else:
            histogram: Counter[str] = Counter()
            for status in self.diagnosis.node_statuses.values():
                histogram.update(status.reasons)
            text += f" {', '.join(sorted(f'{n} {r}' for r, n in histogram.items()))}."
        if self.preemption.message:
            text += f" {self.preemption.message}."
        return text


@dataclass(frozen=True, slots=True)
class Decision:
    node_name: str
    evaluated: int
    feasible: int


class Algorithm:
    """Filters and scores for one scheduler profile; keeps the rotating start index."""

    def __init__(self, filters: list[FilterPlugin] | None = None,
                 scorers: list[ScorePlugin] | None = None, *, percentage_of_nodes: int = 0,
                 rng: random.Random | None = None) -> None:
        self.filters = default_filters() if filters is None else filters
        self.scorers = default_scorers() if scorers is None else scorers
        self.percentage_of_nodes = percentage_of_nodes
        self.rng = rng or random.Random()
        self._next_start = 0

    def schedule(self, pod: PodInfo, snapshot: ClusterSnapshot) -> Decision:
        """The chosen node, or FitError."""
        order = snapshot.node_order
        if not order:
            raise FitError(pod, 0, Diagnosis())
        diagnosis = Diagnosis()
        active: list[tuple[FilterPlugin, Any]] = []
        for plugin in self.filters:
            state = plugin.pre_filter(pod, snapshot)
            if isinstance(state, Status):
                diagnosis.pre_filter = state
                raise self._fit_error(pod, snapshot, diagnosis)
            if state is not SKIP:
                active.append((plugin, state))
        feasible = self._find_feasible(pod, snapshot, active, diagnosis)
        if not feasible:
            raise self._fit_error(pod, snapshot, diagnosis)
        evaluated = len(feasible) + len(diagnosis.node_statuses)
        if len(feasible) == 1:
            return Decision(feasible[0].name, evaluated, 1)
        totals = self._score(pod, snapshot, feasible)
        return Decision(self._select(feasible, totals), evaluated, len(feasible))

    def _find_feasible(self, pod: PodInfo, snapshot: ClusterSnapshot,
                       active: list[tuple[FilterPlugin, Any]], diagnosis: Diagnosis
                       ) -> list[NodeInfo]:
        order, nodes = snapshot.node_order, snapshot.nodes
        count = len(order)
        wanted = feasible_nodes_to_find(count, self.percentage_of_nodes)
        start = self._next_start % count
        feasible: list[NodeInfo] = []
        statuses = diagnosis.node_statuses
        processed = 0
        nominated = snapshot.nominated
        for offset in range(count):
            info = nodes[order[(start + offset) % count]]
            processed += 1
            status: Status | None = None
            if nominated and info.name in nominated:
                status = self._filter_with_nominated(pod, info, active, nominated[info.name])
            else:
                for plugin, state in active:  # inlined: this loop is the hot path
                    status = plugin.filter(state, pod, info)
                    if status is not None:
                        break
            if status is not None:
                statuses[info.name] = status
            else:
                feasible.append(info)
                if len(feasible) >= wanted:
                    break
        self._next_start = (start + processed) % count
        return feasible

    def _fit_error(self, pod: PodInfo, snapshot: ClusterSnapshot, diagnosis: Diagnosis
                   ) -> FitError:
        outcome = preempt(pod, snapshot, diagnosis.pre_filter, diagnosis.node_statuses, self.fits)
        return FitError(pod, len(snapshot.nodes), diagnosis, outcome)

    @staticmethod
    def _run_filters(pod: PodInfo, info: NodeInfo, active: list[tuple[FilterPlugin, Any]]
                     ) -> Status | None:
        for plugin, state in active:
            status = plugin.filter(state, pod, info)
            if status is not None:
                return status
        return None

    def _filter_with_nominated(self, pod: PodInfo, info: NodeInfo,
                               active: list[tuple[FilterPlugin, Any]],
                               waiting: dict[str, PodInfo]) -> Status | None:
        """Filter as if the node's nominated pods of at least this priority were running."""
        ahead = [p for p in waiting.values() if p.key != pod.key and p.priority >= pod.priority
                 and p.key not in info.pods]
        for other in ahead:
            info.add_pod(other)
        try:
            return self._run_filters(pod, info, active)
        finally:
            for other in ahead:
                info.remove_pod(other.key)

    def fits(self, pod: PodInfo, snapshot: ClusterSnapshot, info: NodeInfo) -> Status | None:
        """All filters (with fresh pre-filter state) for one node: preemption's what-if."""
        active = []
        for plugin in self.filters:
            state = plugin.pre_filter(pod, snapshot)
            if isinstance(state, Status):
                return state
            if state is not SKIP:
                active.append((plugin, state))
        return self._run_filters(pod, info, active)

    def _score(self, pod: PodInfo, snapshot: ClusterSnapshot, feasible: list[NodeInfo]
               ) -> list[int]:
        totals = [0] * len(feasible)
        for plugin in self.scorers:
            state = plugin.pre_score(pod, snapshot, feasible)
            if state is SKIP:
                continue
            scores = [plugin.score(state, pod, info) for info in feasible]
            plugin.normalize(state, feasible, scores)
            weight = plugin.weight
            for index, score in enumerate(scores):
                totals[index] += score * weight
        return totals

    def _select(self, feasible: list[NodeInfo], totals: list[int]) -> str:
        best = max(totals)
        tied = [index for index, total in enumerate(totals) if total == best]
        return feasible[tied[self.rng.randrange(len(tied))] if len(tied) > 1 else tied[0]].name
