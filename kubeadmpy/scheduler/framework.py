"""The plugin contract every filter and score follows, and the statuses they return.

It mirrors upstream's scheduling framework where that shapes behaviour users see: a filter's
status carries upstream's reason strings (they end up in FailedScheduling events), and the
difference between *unschedulable* (another pod leaving could help; preemption may try) and
*unresolvable* (only a change to the node or the pod helps) decides the preemption part of the
message. A plugin's `pre_filter`/`pre_score` runs once per pod and returns the state its
per-node call reads, or `SKIP` when the pod gives it nothing to check, so that plugin costs
nothing per node.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Final

from kubeadmpy.scheduler.model import PodInfo
from kubeadmpy.scheduler.snapshot import ClusterSnapshot, NodeInfo

MAX_NODE_SCORE: Final = 100


class Code(IntEnum):
    SUCCESS = 0
    UNSCHEDULABLE = 1  # removing pods from the node might make room
    UNRESOLVABLE = 2  # UnschedulableAndUnresolvable upstream: preemption cannot help
    ERROR = 3


@dataclass(frozen=True, slots=True)
class Status:
    code: Code
    reasons: tuple[str, ...]
    plugin: str = ""

    @classmethod
    def unschedulable(cls, plugin: str, *reasons: str) -> Status:
        return cls(Code.UNSCHEDULABLE, reasons, plugin)

    @classmethod
    def unresolvable(cls, plugin: str, *reasons: str) -> Status:
        return cls(Code.UNRESOLVABLE, reasons, plugin)


class _Skip:
    def __repr__(self) -> str:
        return "SKIP"


SKIP: Final = _Skip()


# Cluster events that can make an unschedulable pod schedulable; plugins list the ones they
# care about so the queue only retries pods a change can help.
NODE_ADD: Final = "NodeAdd"
NODE_UPDATE: Final = "NodeUpdate"
ASSIGNED_POD_ADD: Final = "AssignedPodAdd"
ASSIGNED_POD_UPDATE: Final = "AssignedPodUpdate"
ASSIGNED_POD_DELETE: Final = "AssignedPodDelete"
VOLUME_CHANGE: Final = "VolumeChange"  # PVC, PV or StorageClass added or updated
NAMESPACE_CHANGE: Final = "NamespaceChange"
ALL_EVENTS: Final = frozenset({NODE_ADD, NODE_UPDATE, ASSIGNED_POD_ADD, ASSIGNED_POD_UPDATE,
                               ASSIGNED_POD_DELETE, VOLUME_CHANGE, NAMESPACE_CHANGE})


class FilterPlugin:
    name: ClassVar[str]
    events: ClassVar[frozenset[str]]

    def pre_filter(self, pod: PodInfo, snapshot: ClusterSnapshot) -> Any:
        """State for `filter`, `SKIP`, or a `Status` that rejects every node."""
        return None

    def filter(self, state: Any, pod: PodInfo, node: NodeInfo) -> Status | None:
        """None when the node passes."""
        raise NotImplementedError


class ScorePlugin:
    name: ClassVar[str]
    weight: ClassVar[int]

    def pre_score(self, pod: PodInfo, snapshot: ClusterSnapshot, nodes: list[NodeInfo]) -> Any:
        return None

    def score(self, state: Any, pod: PodInfo, node: NodeInfo) -> int:
        raise NotImplementedError

    def normalize(self, state: Any, nodes: list[NodeInfo], scores: list[int]) -> None:
        """Bring raw scores into 0..MAX_NODE_SCORE, in place; the default leaves them."""


def default_normalize(scores: list[int], reverse: bool) -> None:
    """Upstream's helper: scale to the highest score; `reverse` makes the lowest best."""
    highest = max(scores, default=0)
    if highest == 0:
        if reverse:
            scores[:] = [MAX_NODE_SCORE] * len(scores)
        return
    for index, score in enumerate(scores):
        scaled = MAX_NODE_SCORE * score // highest
        scores[index] = MAX_NODE_SCORE - scaled if reverse else scaled
