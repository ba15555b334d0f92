"""Preemption: when no node fits, find lower-priority pods whose removal would make room.

As upstream's DefaultPreemption: only nodes that failed for a reason removing pods can fix
(resources, ports, anti-affinity, spread — not taints or selectors) are candidates. On each,
every pod of lower priority is taken out; if the pod then fits, the victims are put back one by
one, most important first, keeping back every one the pod still fits beside (the reprieve).
Among candidates the node whose most important victim is least important wins, then the
smallest sum of victim priorities, then the fewest victims. The what-if runs on the live
snapshot (taken out, checked, put back, all without awaiting), so every filter — including the
cluster-wide ones — sees exactly the state that would result.

Not modelled: PodDisruptionBudgets (upstream prefers candidates violating none), and pods whose
binding is still in flight are never victims.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kubeadmpy.scheduler.framework import Code, Status
from kubeadmpy.scheduler.model import PodInfo
from kubeadmpy.scheduler.snapshot import ClusterSnapshot, NodeInfo

MAX_CANDIDATES = 100  # upstream's minCandidateNodesAbsolute: enough to choose well, bounded
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"

# All filters, with fresh pre-filter state, for one node.
Fits = Callable[[PodInfo, ClusterSnapshot, NodeInfo], Status | None]


@dataclass(frozen=True)
class Candidate:
    node: str
    victims: tuple[PodInfo, ...]

    def rank(self) -> tuple[int, int, int]:
        priorities = [v.priority for v in self.victims]
        return (max(priorities), sum(priorities), len(priorities))


@dataclass(frozen=True)
class Outcome:
    candidate: Candidate | None
    message: str  # the "preemption: ..." part of FailedScheduling; empty when preempting


def _more_important_first(pods: list[PodInfo]) -> list[PodInfo]:
    return sorted(pods, key=lambda p: (-p.priority, p.created))


def victims_on(pod: PodInfo, snapshot: ClusterSnapshot, info: NodeInfo, fits: Fits
               ) -> tuple[PodInfo, ...] | None:
    """The fewest lower-priority pods whose removal lets `pod` fit on `info`; None if none do."""
    potential = [p for p in info.pods.values()
                 if p.priority < pod.priority and p.key not in snapshot.assumed]
    if not potential:
        return None
    for victim in potential:
        snapshot.remove_pod(victim.key)
    victims: list[PodInfo] = []
    try:
        if fits(pod, snapshot, info) is not None:
            victims = potential  # restored below; no candidate
            return None
        for other in _more_important_first(potential):
            snapshot.place(other)
            if fits(pod, snapshot, info) is not None:
                snapshot.remove_pod(other.key)
                victims.append(other)
        return tuple(victims)
    finally:
        for victim in victims:
            snapshot.place(victim)


def preempt(pod: PodInfo, snapshot: ClusterSnapshot, pre_filter: Status | None,
            node_statuses: Mapping[str, Status], fits: Fits) -> Outcome:
    """Upstream's PostFilter: a candidate to preempt on, or the message saying why none."""
    all_nodes = len(snapshot.nodes)
    if (pod.raw.get("spec") or {}).get("preemptionPolicy") == "Never":
        return Outcome(None, "preemption: not eligible due to preemptionPolicy=Never")
    nominated = snapshot.nominated_node(pod.key) or str(
        (pod.raw.get("status") or {}).get("nominatedNodeName") or "")
    waiting_on = snapshot.nodes.get(nominated)
    if waiting_on is not None and any(p.terminating and p.priority < pod.priority
                                      for p in waiting_on.pods.values()):
        # its earlier victims are still going: wait for them rather than preempt again
        return Outcome(None, "preemption: not eligible due to a terminating pod on the "
                             "nominated node")
    histogram: Counter[str] = Counter()
    candidates: list[Candidate] = []
    if pre_filter is not None:
        histogram[NOT_HELPFUL if pre_filter.code == Code.UNRESOLVABLE else NO_VICTIMS] = all_nodes
    else:
        for name, status in node_statuses.items():
            info = snapshot.nodes.get(name)
            if status.code == Code.UNRESOLVABLE or info is None:
                histogram[NOT_HELPFUL] += 1
                continue
            found = victims_on(pod, snapshot, info, fits) \
                if len(candidates) < MAX_CANDIDATES else None
            if found is None:
                histogram[NO_VICTIMS] += 1
            else:
                candidates.append(Candidate(name, found))
    if candidates:
        return Outcome(min(candidates, key=Candidate.rank), "")
    reasons = ", ".join(sorted(f"{n} {r}" for r, n in histogram.items()))
    return Outcome(None, f"preemption: 0/{all_nodes} nodes are available: {reasons}")
