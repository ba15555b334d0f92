"""The scheduler's picture of the cluster: nodes with the pods on them, kept up to date in place.

Informer events (and the scheduler's own assumptions) update it incrementally: adding a pod to a
node adds its requests, ports and affinity terms to that node's sums, so no filter ever walks a
node's pod list to find out what is free. Everything runs on one event loop and the scheduling
algorithm never awaits, so a scheduling cycle sees one consistent state without copying it.

An *assumed* pod is one the scheduler has chosen a node for but whose binding has not been
confirmed by the watch yet: it counts on its node from the moment it is chosen, so the next pod
cannot take the same room; `forget` removes it again if the binding fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from kubeadmpy.scheduler.model import NodeView, PodInfo, Resources, node_view, pod_info


@dataclass(eq=False, slots=True)
class NodeInfo:
    node: NodeView
    pods: dict[str, PodInfo] = field(default_factory=dict)
    requested: Resources = field(default_factory=Resources)
    non_zero_cpu: int = 0
    non_zero_memory: int = 0
    used_ports: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    pods_with_affinity: dict[str, PodInfo] = field(default_factory=dict)
    pods_with_required_anti_affinity: dict[str, PodInfo] = field(default_factory=dict)
    namespace_pods: dict[str, int] = field(default_factory=dict)  # namespace -> pods here

    @property
    def name(self) -> str:
        return self.node.name

    def add_pod(self, pod: PodInfo) -> None:
        self.pods[pod.key] = pod
        self._account(pod, 1)

    def remove_pod(self, key: str) -> PodInfo | None:
        pod = self.pods.pop(key, None)
        if pod is not None:
            self._account(pod, -1)
        return pod

    def _account(self, pod: PodInfo, sign: int) -> None:
        self.requested.add(pod.requests, sign)
        self.non_zero_cpu += sign * pod.non_zero_cpu
        self.non_zero_memory += sign * pod.non_zero_memory
        remaining = self.namespace_pods.get(pod.namespace, 0) + sign
        if remaining > 0:
            self.namespace_pods[pod.namespace] = remaining
        else:
            self.namespace_pods.pop(pod.namespace, None)
        for port in pod.host_ports:
            ips = self.used_ports.setdefault((port.protocol, port.port), set())
            if sign > 0:
                ips.add(port.host_ip)
            else:
                ips.discard(port.host_ip)
                if not ips:
                    del self.used_ports[(port.protocol, port.port)]
        for index, wanted in ((self.pods_with_affinity, pod.has_affinity),
                              (self.pods_with_required_anti_affinity,
                               bool(pod.required_anti_affinity))):
            if wanted and sign > 0:
                index[pod.key] = pod
            elif wanted:
                index.pop(pod.key, None)


def _counts_on_node(pod: PodInfo) -> bool:
    """Finished pods free their node's resources (upstream's cache drops them too)."""
    return bool(pod.node_name) and not pod.finished


class ClusterSnapshot:
    """Nodes, their pods, and the objects filters consult (namespaces, claims, volumes, classes)."""

    def __init__(self) -> None:
        self.nodes: dict[str, NodeInfo] = {}
        self.node_order: list[str] = []  # stable order for the rotating partial search
        self._node_index: dict[str, int] = {}
        self._pod_node: dict[str, str] = {}  # pod key -> node name it counts on
        self._orphans: dict[str, dict[str, PodInfo]] = {}  # pods on nodes we have not seen yet
        self.assumed: set[str] = set()
        self.namespace_labels: dict[str, dict[str, str]] = {}
        self.claims: dict[str, dict[str, Any]] = {}  # "ns/name" -> PersistentVolumeClaim
        self.volumes: dict[str, dict[str, Any]] = {}  # name -> PersistentVolume
        self.storage_classes: dict[str, dict[str, Any]] = {}
        self.image_nodes: dict[str, int] = {}  # image -> number of nodes that have it
        # Services, ReplicationControllers, ReplicaSets, StatefulSets by resource, "ns/name":
        # their selectors give pods without spread constraints upstream's default spreading.
        self.workloads: dict[str, dict[str, dict[str, Any]]] = {}
        # Nodes running pods with (anti-)affinity terms: inter-pod affinity visits only these
        # instead of every node when the incoming pod has no terms of its own.
        self.nodes_with_affinity: set[str] = set()
        self.nodes_with_required_anti_affinity: set[str] = set()
        # Pending pods that preempted others and wait for the room on their nominated node:
        # pods of lower or equal priority must not take that room meanwhile.
        self.nominated: dict[str, dict[str, PodInfo]] = {}
        self._nominated_node: dict[str, str] = {}
        # Topology spread counts domains over all nodes for every pod; these indexes let it
        # visit only the nodes running pods of the pod's namespace.
        self.label_values: dict[str, dict[str, int]] = {}  # key -> value -> nodes
        self.label_nodes: dict[str, int] = {}  # key -> nodes carrying it
        self._namespace_nodes: dict[str, set[str]] = {}

    # --- nodes -----------------------------------------------------------------------------
    def set_node(self, raw: dict[str, Any]) -> NodeInfo:
        view = node_view(raw)
        info = self.nodes.get(view.name)
        if info is None:
            info = NodeInfo(view)
            self.nodes[view.name] = info
            self._node_index[view.name] = len(self.node_order)
            self.node_order.append(view.name)
            for pod in self._orphans.pop(view.name, {}).values():
                info.add_pod(pod)
                self._index_namespace(info, pod.namespace)
            self._index_affinity(info)
        else:
            self._count_images(info.node, -1)
            self._count_labels(info.node, -1)
            info.node = view
        self._count_images(view, 1)
        self._count_labels(view, 1)
        return info

    def delete_node(self, name: str) -> None:
        info = self.nodes.pop(name, None)
        if info is None:
            return
        self._count_images(info.node, -1)
        self._count_labels(info.node, -1)
        for namespace in info.namespace_pods:
            self._namespace_nodes.get(namespace, set()).discard(name)
        self.nodes_with_affinity.discard(name)
        self.nodes_with_required_anti_affinity.discard(name)
        index = self._node_index.pop(name)
        last = self.node_order.pop()
        if last != name:  # swap-remove keeps every index valid in O(1)
            self.node_order[index] = last
            self._node_index[last] = index
        if info.pods:  # their deletions may still arrive; keep them so they can be removed
            self._orphans[name] = info.pods

    def affinity_nodes(self, required_anti_only: bool) -> list[NodeInfo]:
        names = (self.nodes_with_required_anti_affinity if required_anti_only
                 else self.nodes_with_affinity)
        return [self.nodes[name] for name in names if name in self.nodes]

    def nodes_in_namespace(self, namespace: str) -> list[NodeInfo]:
        """Nodes running at least one pod of `namespace`."""
        return [self.nodes[name] for name in self._namespace_nodes.get(namespace, ())]

    def _count_labels(self, view: NodeView, sign: int) -> None:
        for key, value in view.labels.items():
            values = self.label_values.setdefault(key, {})
            values[value] = values.get(value, 0) + sign
            if values[value] <= 0:
                del values[value]
            self.label_nodes[key] = self.label_nodes.get(key, 0) + sign
            if self.label_nodes[key] <= 0:
                del self.label_nodes[key]
                del self.label_values[key]

    def _index_namespace(self, info: NodeInfo, namespace: str) -> None:
        if info.namespace_pods.get(namespace):
            self._namespace_nodes.setdefault(namespace, set()).add(info.name)
        else:
            self._namespace_nodes.get(namespace, set()).discard(info.name)

    def _count_images(self, view: NodeView, sign: int) -> None:
        for image in view.images:
            self.image_nodes[image] = self.image_nodes.get(image, 0) + sign
            if self.image_nodes[image] <= 0:
                del self.image_nodes[image]

    # --- pods ------------------------------------------------------------------------------
    def set_pod(self, raw: dict[str, Any]) -> PodInfo:
        """An added or updated pod from the watch; confirms an assumed pod."""
        pod = pod_info(raw)
        self.remove_pod(pod.key)
        if _counts_on_node(pod):
            self._place(pod, pod.node_name)
        return pod

    def remove_pod(self, key: str) -> PodInfo | None:
        self.assumed.discard(key)
        node_name = self._pod_node.pop(key, None)
        if node_name is None:
            return None
        info = self.nodes.get(node_name)
        if info is not None:
            removed = info.remove_pod(key)
            if removed is not None:
                self._index_namespace(info, removed.namespace)
            self._index_affinity(info)
            return removed
        return self._orphans.get(node_name, {}).pop(key, None)

    def place(self, pod: PodInfo) -> None:
        """Put back a pod taken out with `remove_pod` (preemption's what-if)."""
        self._place(pod, pod.node_name)

    def nominate(self, pod: PodInfo, node_name: str) -> None:
        self.clear_nomination(pod.key)
        self.nominated.setdefault(node_name, {})[pod.key] = pod
        self._nominated_node[pod.key] = node_name

    def nominated_node(self, key: str) -> str:
        return self._nominated_node.get(key, "")

    def clear_nomination(self, key: str) -> None:
        node_name = self._nominated_node.pop(key, None)
        if node_name is not None:
            waiting = self.nominated[node_name]
            waiting.pop(key, None)
            if not waiting:
                del self.nominated[node_name]

    def _place(self, pod: PodInfo, node_name: str) -> None:
        self._pod_node[pod.key] = node_name
        info = self.nodes.get(node_name)
        if info is None:
            self._orphans.setdefault(node_name, {})[pod.key] = pod
        else:
            info.add_pod(pod)
            self._index_namespace(info, pod.namespace)
            self._index_affinity(info)

    def _index_affinity(self, info: NodeInfo) -> None:
        for index, present in ((self.nodes_with_affinity, info.pods_with_affinity),
                               (self.nodes_with_required_anti_affinity,
                                info.pods_with_required_anti_affinity)):
            if present:
                index.add(info.name)
            else:
                index.discard(info.name)

    def assume(self, pod: PodInfo, node_name: str) -> PodInfo:
        """Count `pod` on `node_name` before the binding is confirmed."""
        raw = dict(pod.raw)
        raw["spec"] = {**(pod.raw.get("spec") or {}), "nodeName": node_name}
        placed = replace(pod, raw=raw, node_name=node_name)
        self.remove_pod(pod.key)
        self._place(placed, node_name)
        self.assumed.add(pod.key)
        return placed

    def forget(self, key: str) -> None:
        """Undo `assume` after a failed binding (a no-op if the watch already confirmed it)."""
        if key in self.assumed:
            self.remove_pod(key)

    def pod_node(self, key: str) -> str | None:
        return self._pod_node.get(key)

    def all_pods(self) -> Iterator[tuple[NodeInfo, PodInfo]]:
        for info in self.nodes.values():
            for pod in info.pods.values():
                yield info, pod

    def node_infos(self) -> list[NodeInfo]:
        return [self.nodes[name] for name in self.node_order]
