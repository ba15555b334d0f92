"""Pod topology spread: the DoNotSchedule filter and the ScheduleAnyway score.

Skew is counted per topology domain: the pods matching a constraint's selector (in the pod's
namespace, not terminating) on the eligible nodes of each domain. A node is eligible when it has
every constraint's topology key and passes the constraint's node policies (nodeAffinityPolicy
Honor by default: the pod's nodeSelector/required affinity; nodeTaintsPolicy Ignore by default).
Placing the pod in a domain must keep `count + self - global minimum <= maxSkew`; with fewer
domains than `minDomains` the global minimum counts as zero. A pod without constraints of its
own that a Service or a controller selects is scored with upstream's system defaults
(hostname maxSkew 3 and zone maxSkew 5, ScheduleAnyway), so replicas spread by default.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from kubeadmpy.machinery.selectors import LabelSelector
from kubeadmpy.scheduler import framework as fw
from kubeadmpy.scheduler.filters import matches_node_selection
from kubeadmpy.scheduler.framework import SKIP, FilterPlugin, ScorePlugin, Status
from kubeadmpy.scheduler.model import PodInfo, SpreadConstraint, tolerated
from kubeadmpy.scheduler.selection import label_selector
from kubeadmpy.scheduler.snapshot import ClusterSnapshot, NodeInfo

CONSTRAINTS_MISMATCH = "node(s) didn't match pod topology spread constraints"
MISSING_LABEL = CONSTRAINTS_MISMATCH + " (missing required label)"


def _eligible(pod: PodInfo, constraint: SpreadConstraint, node: NodeInfo) -> bool:
    if constraint.honor_node_affinity and not matches_node_selection(pod, node):
        return False
    if constraint.honor_node_taints:
        for taint in node.node.taints:
            if taint.effect in ("NoSchedule", "NoExecute") and not tolerated(taint, pod.tolerations):
                return False
    return True


def _has_keys(node: NodeInfo, constraints: tuple[SpreadConstraint, ...]) -> bool:
    labels = node.node.labels
    return all(c.topology_key in labels for c in constraints)


def _matching(pod: PodInfo, constraint: SpreadConstraint, node: NodeInfo) -> int:
    return sum(1 for other in node.pods.values()
               if other.namespace == pod.namespace and not other.terminating
               and constraint.selector.matches(other.labels))


def _domain_counts(pod: PodInfo, constraints: tuple[SpreadConstraint, ...],
                   nodes: Iterable[NodeInfo], only: list[Counter[str]] | None = None,
                   require_all: bool = True) -> list[Counter[str]]:
    """Matching pods per domain value, per constraint, over the eligible nodes that carry every
    topology key. With `only`, count into those counters and only for domains already in them.

    This runs over every node for every pod with constraints, so the common case (no node
    policy to check, a node without pods) is kept to a few dict look-ups.
    """
    counts = only if only is not None else [Counter() for _ in constraints]
    keys = [c.topology_key for c in constraints]
    selective = bool(pod.node_selector) or pod.required_node_affinity is not None
    policy = [(c.honor_node_affinity and selective) or c.honor_node_taints for c in constraints]
    for info in nodes:
        labels = info.node.labels
        if require_all:
            try:
                values = [labels[key] for key in keys]
            except KeyError:  # a node without every topology key is in no domain
                continue
        else:  # system defaults: a missing label is the domain ""
            values = [labels.get(key, "") for key in keys]
        for index, constraint in enumerate(constraints):
            value = values[index]
            domain = counts[index]
            if only is not None and value not in domain:
                continue
            if policy[index] and not _eligible(pod, constraint, info):
                continue
            if info.pods:
                domain[value] += _matching(pod, constraint, info)
            elif value not in domain:
                domain[value] = 0
    return counts


def _every_node_is_a_domain(pod: PodInfo, constraints: tuple[SpreadConstraint, ...],
                            snapshot: ClusterSnapshot) -> bool:
    """True when every node carries every topology key and no node policy excludes any:
    the common case, where the domains are exactly the label index's values."""
    selective = bool(pod.node_selector) or pod.required_node_affinity is not None
    node_count = len(snapshot.nodes)
    return all(not ((c.honor_node_affinity and selective) or c.honor_node_taints)
               and snapshot.label_nodes.get(c.topology_key, 0) == node_count
               for c in constraints)


@dataclass(slots=True)
class _FilterState:
    constraints: tuple[SpreadConstraint, ...]
    counts: list[Counter[str]]  # per constraint: domain value -> matching pods
    self_match: list[int]
    minimums: list[int]  # global minimum per constraint (0 below minDomains)


class PodTopologySpread(FilterPlugin):
    name: ClassVar[str] = "PodTopologySpread"
    events: ClassVar[frozenset[str]] = frozenset({
        fw.NODE_ADD, fw.NODE_UPDATE, fw.ASSIGNED_POD_ADD, fw.ASSIGNED_POD_UPDATE,
        fw.ASSIGNED_POD_DELETE})

    def pre_filter(self, pod: PodInfo, snapshot: ClusterSnapshot) -> Any:
        constraints = tuple(c for c in pod.spread_constraints if c.hard)
        if not constraints:
            return SKIP
        self_match = [int(c.selector.matches(pod.labels)) for c in constraints]
        if _every_node_is_a_domain(pod, constraints, snapshot):
            # Domains come from the label index; only nodes with pods of this namespace can
            # change a count, so only those are visited.
            counts = _domain_counts(pod, constraints, snapshot.nodes_in_namespace(pod.namespace))
            minimums = []
            for constraint, domains in zip(constraints, counts, strict=True):
                total = len(snapshot.label_values[constraint.topology_key])
                occupied = [count for count in domains.values() if count > 0]
                minimums.append(0 if total < constraint.min_domains or len(occupied) < total
                                else min(occupied))
            return _FilterState(constraints, counts, self_match, minimums)
        counts = _domain_counts(pod, constraints, snapshot.nodes.values())
        minimums = [min(domains.values(), default=0) if len(domains) >= c.min_domains else 0
                    for c, domains in zip(constraints, counts, strict=True)]
        return _FilterState(constraints, counts, self_match, minimums)

    def filter(self, state: _FilterState, pod: PodInfo, node: NodeInfo) -> Status | None:
        labels = node.node.labels
        for index, constraint in enumerate(state.constraints):
            value = labels.get(constraint.topology_key)
            if value is None:
                return Status.unresolvable(self.name, MISSING_LABEL)
            skew = state.counts[index].get(value, 0) + state.self_match[index] - state.minimums[index]
            if skew > constraint.max_skew:
                return Status.unschedulable(self.name, CONSTRAINTS_MISMATCH)
        return None


@dataclass(slots=True)
class _ScoreState:
    constraints: tuple[SpreadConstraint, ...]
    counts: list[Counter[str]]
    weights: list[float]
    ignored: set[str]
    require_all: bool


SYSTEM_DEFAULT_CONSTRAINTS = (("kubernetes.io/hostname", 3), ("topology.kubernetes.io/zone", 5))


def default_selector(pod: PodInfo, snapshot: ClusterSnapshot) -> LabelSelector:
    """Upstream's DefaultSelector: the selectors of the Services selecting the pod, plus the
    selector of its controlling ReplicationController, ReplicaSet or StatefulSet."""
    merged: dict[str, str] = {}
    for service in snapshot.workloads.get("services", {}).values():
        meta, selector = service.get("metadata") or {}, (service.get("spec") or {}).get("selector")
        if (meta.get("namespace") == pod.namespace and selector
                and all(pod.labels.get(k) == v for k, v in selector.items())):
            merged.update(selector)
    requirements = label_selector({"matchLabels": merged}).requirements if merged else ()
    owner = pod.controller
    if owner is not None:
        kind, name = owner
        resource = _OWNER_RESOURCES.get(kind)
        workload = snapshot.workloads.get(resource or "", {}).get(f"{pod.namespace}/{name}")
        selector = ((workload or {}).get("spec") or {}).get("selector")
        if kind == "ReplicationController" and selector:
            merged.update(selector)
            requirements = label_selector({"matchLabels": merged}).requirements
        elif workload is not None and selector:
            requirements = requirements + label_selector(selector).requirements
    return LabelSelector(tuple(requirements))


_OWNER_RESOURCES = {"ReplicationController": "replicationcontrollers",
                    "ReplicaSet": "replicasets", "StatefulSet": "statefulsets"}


def system_default_constraints(pod: PodInfo, snapshot: ClusterSnapshot
                               ) -> tuple[SpreadConstraint, ...]:
    """Hostname (maxSkew 3) and zone (maxSkew 5), ScheduleAnyway, for pods a Service or a
    controller selects — upstream's defaults when a pod has no constraints of its own."""
    selector = default_selector(pod, snapshot)
    if selector.empty:
        return ()
    return tuple(SpreadConstraint(max_skew=skew, topology_key=key, hard=False, selector=selector,
                                  min_domains=1, honor_node_affinity=True,
                                  honor_node_taints=False)
                 for key, skew in SYSTEM_DEFAULT_CONSTRAINTS)


class PodTopologySpreadScore(ScorePlugin):
    """Fewer matching pods in the node's domains scores higher; each constraint weighted by
    log(number of domains + 2) so constraints over many domains do not drown the others."""

    name: ClassVar[str] = "PodTopologySpread"
    weight: ClassVar[int] = 2

    def pre_score(self, pod: PodInfo, snapshot: ClusterSnapshot, nodes: list[NodeInfo]) -> Any:
        if pod.spread_constraints:
            constraints = tuple(c for c in pod.spread_constraints if not c.hard)
            require_all = True
        else:
            constraints = system_default_constraints(pod, snapshot)
            require_all = False  # upstream: system defaults do not ignore unlabelled nodes
        if not constraints:
            return SKIP
        ignored = {n.name for n in nodes if require_all and not _has_keys(n, constraints)}
        counts: list[Counter[str]] = [Counter() for _ in constraints]
        for info in nodes:
            if info.name not in ignored:
                labels = info.node.labels
                for index, constraint in enumerate(constraints):
                    counts[index][labels.get(constraint.topology_key, "")] += 0
        weights = [math.log(len(c) + 2) for c in counts]
        # nodes without pods of this namespace add nothing to domains already listed
        _domain_counts(pod, constraints, snapshot.nodes_in_namespace(pod.namespace), only=counts,
                       require_all=require_all)
        return _ScoreState(constraints, counts, weights, ignored, require_all)

    def score(self, state: _ScoreState, pod: PodInfo, node: NodeInfo) -> int:
        if node.name in state.ignored:
            return 0
        total = 0.0
        for index, constraint in enumerate(state.constraints):
            count = state.counts[index][node.node.labels.get(constraint.topology_key, "")]
            total += count * state.weights[index] + (constraint.max_skew - 1)
        return math.floor(total + 0.5)  # Go's math.Round: halves away from zero

    def normalize(self, state: _ScoreState, nodes: list[NodeInfo], scores: list[int]) -> None:
        kept = [s for n, s in zip(nodes, scores, strict=True) if n.name not in state.ignored]
        if not kept:
            return
        low, high = min(kept), max(kept)
        for index, node in enumerate(nodes):
            if node.name in state.ignored:
                scores[index] = 0
            elif high == 0:
                scores[index] = fw.MAX_NODE_SCORE
            else:
                scores[index] = fw.MAX_NODE_SCORE * (high + low - scores[index]) // high
