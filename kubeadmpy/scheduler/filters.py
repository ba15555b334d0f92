"""The per-node filters that need only the pod and one node: upstream's simple plugins.

Reason strings are upstream's, word for word, because they are what users read in
`kubectl describe pod` and what tools grep for. Which failures are unresolvable (preemption
cannot help) also follows upstream: everything here except resources and host ports.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kubeadmpy.scheduler import framework as fw
from kubeadmpy.scheduler.framework import SKIP, FilterPlugin, Status
from kubeadmpy.scheduler.model import UNSCHEDULABLE_TAINT_KEY, PodInfo, Taint, tolerated
from kubeadmpy.scheduler.snapshot import ClusterSnapshot, NodeInfo

NODE_NOT_READY = "node(s) were not ready"
NODE_UNSCHEDULABLE = "node(s) were unschedulable"
NODE_NAME_MISMATCH = "node(s) didn't match the requested node name"
NODE_AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector"
HOST_PORTS_TAKEN = "node(s) didn't have free ports for the requested pod ports"
TOO_MANY_PODS = "Too many pods"

_NODE_EVENTS = frozenset({fw.NODE_ADD, fw.NODE_UPDATE})


def untolerated_taint_reason(taint: Taint) -> str:
    return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"


def insufficient(resource: str) -> str:
    return f"Insufficient {resource}"


class NodeReady(FilterPlugin):
    """A node whose Ready condition is not True gets no pods (older upstream's NodeCondition)."""

    name: ClassVar[str] = "NodeReady"
    events: ClassVar[frozenset[str]] = _NODE_EVENTS

    def filter(self, state: Any, pod: PodInfo, node: NodeInfo) -> Status | None:
        return None if node.node.ready else Status.unresolvable(self.name, NODE_NOT_READY)


class NodeUnschedulable(FilterPlugin):
    name: ClassVar[str] = "NodeUnschedulable"
    events: ClassVar[frozenset[str]] = _NODE_EVENTS
    _TAINT = Taint(UNSCHEDULABLE_TAINT_KEY, "", "NoSchedule")

    def filter(self, state: Any, pod: PodInfo, node: NodeInfo) -> Status | None:
        if not node.node.unschedulable or tolerated(self._TAINT, pod.tolerations):
            return None
        return Status.unresolvable(self.name, NODE_UNSCHEDULABLE)


class NodeName(FilterPlugin):
    name: ClassVar[str] = "NodeName"
    events: ClassVar[frozenset[str]] = frozenset({fw.NODE_ADD})

    def pre_filter(self, pod: PodInfo, snapshot: ClusterSnapshot) -> Any:
        return pod.node_name or SKIP

    def filter(self, state: Any, pod: PodInfo, node: NodeInfo) -> Status | None:
        return None if node.name == state else Status.unresolvable(self.name, NODE_NAME_MISMATCH)


class NodeAffinity(FilterPlugin):
    """spec.nodeSelector AND required node affinity (terms ORed, expressions ANDed)."""

    name: ClassVar[str] = "NodeAffinity"
    events: ClassVar[frozenset[str]] = _NODE_EVENTS

    def pre_filter(self, pod: PodInfo, snapshot: ClusterSnapshot) -> Any:
        if not pod.node_selector and pod.required_node_affinity is None:
            return SKIP
        return None

    def filter(self, state: Any, pod: PodInfo, node: NodeInfo) -> Status | None:
        return None if matches_node_selection(pod, node) else Status.unresolvable(
            self.name, NODE_AFFINITY_MISMATCH)


def matches_node_selection(pod: PodInfo, node: NodeInfo) -> bool:
    labels = node.node.labels
    for key, value in pod.node_selector.items():
        if labels.get(key) != value:
            return False
    required = pod.required_node_affinity
    return required is None or required.matches(labels, node.name)


class TaintToleration(FilterPlugin):
    name: ClassVar[str] = "TaintToleration"
    events: ClassVar[frozenset[str]] = _NODE_EVENTS

    def filter(self, state: Any, pod: PodInfo, node: NodeInfo) -> Status | None:
        for taint in node.node.taints:
            if taint.effect in ("NoSchedule", "NoExecute") and not tolerated(taint, pod.tolerations):
                return Status.unresolvable(self.name, untolerated_taint_reason(taint))
        return None


class NodeResourcesFit(FilterPlugin):
    """Requests against allocatable minus what the node's pods already request."""

    name: ClassVar[str] = "NodeResourcesFit"
    events: ClassVar[frozenset[str]] = frozenset({
        fw.NODE_ADD, fw.NODE_UPDATE, fw.ASSIGNED_POD_DELETE, fw.ASSIGNED_POD_UPDATE})

    def filter(self, state: Any, pod: PodInfo, node: NodeInfo) -> Status | None:
        want, used, allocatable = pod.requests, node.requested, node.node.allocatable
        if (len(node.pods) < node.node.allowed_pods and not want.scalar
                and want.milli_cpu <= allocatable.milli_cpu - used.milli_cpu
                and want.memory <= allocatable.memory - used.memory
                and want.ephemeral_storage <= allocatable.ephemeral_storage
                - used.ephemeral_storage):
            return None  # the common case, without building a reason list
        return self._reasons(pod, node)

    def _reasons(self, pod: PodInfo, node: NodeInfo) -> Status | None:
        reasons = []
        if len(node.pods) + 1 > node.node.allowed_pods:
            reasons.append(TOO_MANY_PODS)
        want, used, allocatable = pod.requests, node.requested, node.node.allocatable
        if want.milli_cpu > 0 and want.milli_cpu > allocatable.milli_cpu - used.milli_cpu:
            reasons.append(insufficient("cpu"))
        if want.memory > 0 and want.memory > allocatable.memory - used.memory:
            reasons.append(insufficient("memory"))
        if want.ephemeral_storage > 0 and (
                want.ephemeral_storage > allocatable.ephemeral_storage - used.ephemeral_storage):
            reasons.append(insufficient("ephemeral-storage"))
        for resource, amount in want.scalar.items():
            if amount > 0 and amount > allocatable.scalar.get(resource, 0) - used.scalar.get(
                    resource, 0):
                reasons.append(insufficient(resource))
        return Status.unschedulable(self.name, *reasons) if reasons else None


class NodePorts(FilterPlugin):
    """A host port is taken when the protocol and port match and either address is a wildcard."""

    name: ClassVar[str] = "NodePorts"
    events: ClassVar[frozenset[str]] = frozenset({fw.NODE_ADD, fw.ASSIGNED_POD_DELETE})

    def pre_filter(self, pod: PodInfo, snapshot: ClusterSnapshot) -> Any:
        return None if pod.host_ports else SKIP

    def filter(self, state: Any, pod: PodInfo, node: NodeInfo) -> Status | None:
        for port in pod.host_ports:
            taken = node.used_ports.get((port.protocol, port.port))
            if taken and (port.host_ip == "0.0.0.0" or "0.0.0.0" in taken or port.host_ip in taken):
                return Status.unschedulable(self.name, HOST_PORTS_TAKEN)
        return None
