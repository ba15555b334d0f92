"""Node scores that need only the pod and one node, with upstream's formulas and weights.

- NodeResourcesFit (LeastAllocated, weight 1): free share of CPU and memory after placing the
  pod, using the "non-zero" requests (a container without a request counts 100m / 200 MiB).
- NodeResourcesBalancedAllocation (weight 1): 1 − the spread of the CPU and memory fractions
  (actual requests), so nodes stay evenly used across resources.
- NodeAffinity (weight 2): summed weights of matching preferred terms, scaled to the best node.
- TaintToleration (weight 3): fewer untolerated PreferNoSchedule taints is better.
- ImageLocality (weight 1): bytes of the pod's images already on the node, damped by how few
  nodes have them, between 23 MB and 1000 MB per container.
Integer arithmetic truncates where upstream's int64 arithmetic does, so scores are the same.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kubeadmpy.scheduler import framework as fw
from kubeadmpy.scheduler.framework import SKIP, ScorePlugin, default_normalize
from kubeadmpy.scheduler.model import PodInfo, tolerated
from kubeadmpy.scheduler.snapshot import ClusterSnapshot, NodeInfo

MIN_IMAGE_THRESHOLD = 23 * 1024 * 1024
MAX_CONTAINER_IMAGE_THRESHOLD = 1000 * 1024 * 1024


def _least_requested(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * fw.MAX_NODE_SCORE // capacity


class LeastAllocated(ScorePlugin):
    name: ClassVar[str] = "NodeResourcesFit"
    weight: ClassVar[int] = 1

    def score(self, state: Any, pod: PodInfo, node: NodeInfo) -> int:
        allocatable = node.node.allocatable
        total = 0
        if allocatable.milli_cpu:
            total += _least_requested(node.non_zero_cpu + pod.non_zero_cpu, allocatable.milli_cpu)
        if allocatable.memory:
            total += _least_requested(node.non_zero_memory + pod.non_zero_memory, allocatable.memory)
        return total // 2  # cpu and memory, weight 1 each


class BalancedAllocation(ScorePlugin):
    name: ClassVar[str] = "NodeResourcesBalancedAllocation"
    weight: ClassVar[int] = 1

    def score(self, state: Any, pod: PodInfo, node: NodeInfo) -> int:
        allocatable, used = node.node.allocatable, node.requested
        fractions = []
        if allocatable.milli_cpu:
            fractions.append(min(1.0, (used.milli_cpu + pod.requests.milli_cpu)
                                 / allocatable.milli_cpu))
        if allocatable.memory:
            fractions.append(min(1.0, (used.memory + pod.requests.memory) / allocatable.memory))
        deviation = abs(fractions[0] - fractions[1]) / 2 if len(fractions) == 2 else 0.0
        return int((1 - deviation) * fw.MAX_NODE_SCORE)


class NodeAffinityScore(ScorePlugin):
    name: ClassVar[str] = "NodeAffinity"
    weight: ClassVar[int] = 2

    def pre_score(self, pod: PodInfo, snapshot: ClusterSnapshot, nodes: list[NodeInfo]) -> Any:
        return None if pod.preferred_node_affinity else SKIP

    def score(self, state: Any, pod: PodInfo, node: NodeInfo) -> int:
        labels, name = node.node.labels, node.name
        return sum(weight for weight, term in pod.preferred_node_affinity
                   if weight and term.matches(labels, name))

    def normalize(self, state: Any, nodes: list[NodeInfo], scores: list[int]) -> None:
        default_normalize(scores, reverse=False)


class TaintTolerationScore(ScorePlugin):
    name: ClassVar[str] = "TaintToleration"
    weight: ClassVar[int] = 3

    def pre_score(self, pod: PodInfo, snapshot: ClusterSnapshot, nodes: list[NodeInfo]) -> Any:
        # Tolerations that could tolerate a PreferNoSchedule taint (empty effect means all).
        return tuple(t for t in pod.tolerations if t.effect in ("", "PreferNoSchedule"))

    def score(self, state: Any, pod: PodInfo, node: NodeInfo) -> int:
        return sum(1 for taint in node.node.taints
                   if taint.effect == "PreferNoSchedule" and not tolerated(taint, state))

    def normalize(self, state: Any, nodes: list[NodeInfo], scores: list[int]) -> None:
        default_normalize(scores, reverse=True)


class ImageLocality(ScorePlugin):
    name: ClassVar[str] = "ImageLocality"
    weight: ClassVar[int] = 1

    def pre_score(self, pod: PodInfo, snapshot: ClusterSnapshot, nodes: list[NodeInfo]) -> Any:
        if not snapshot.image_nodes:
            return SKIP
        return (snapshot.image_nodes, len(snapshot.nodes))

    def score(self, state: tuple[dict[str, int], int], pod: PodInfo, node: NodeInfo) -> int:
        image_nodes, total_nodes = state
        images = node.node.images
        summed = 0
        for image in pod.images:
            size = images.get(image)
            if size is not None:  # damped by the share of nodes that have the image
                summed += int(size * (image_nodes.get(image, 0) / total_nodes))
        high = MAX_CONTAINER_IMAGE_THRESHOLD * max(len(pod.images), 1)
        summed = min(max(summed, MIN_IMAGE_THRESHOLD), high)
        return fw.MAX_NODE_SCORE * (summed - MIN_IMAGE_THRESHOLD) // (high - MIN_IMAGE_THRESHOLD)
