"""Volume topology: a pod may only go where the PersistentVolumes of its claims are reachable.

Bound claims: the bound PV's `spec.nodeAffinity.required` must match the node. Unbound claims of
an Immediate class reject the pod outright (the PV controller binds them first). Unbound claims
of a WaitForFirstConsumer class are fine when the class has a provisioner (it will create the
volume where the pod lands); with `kubernetes.io/no-provisioner` some Available PV of that class,
big enough, with the access modes and a node affinity matching the node, must exist. Reason
strings are upstream's (VolumeBinding plugin). Before the pod is bound, `plan_volumes` says what
must happen first: claims to provision get the `volume.kubernetes.io/selected-node` annotation
their provisioner waits for; static PVs get the claim reference the PV controller completes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from kubeadmpy.scheduler import framework as fw
from kubeadmpy.scheduler.framework import SKIP, FilterPlugin, Status
from kubeadmpy.scheduler.model import PodInfo
from kubeadmpy.scheduler.quantities import lenient
from kubeadmpy.scheduler.selection import NodeSelector, node_selector
from kubeadmpy.scheduler.snapshot import ClusterSnapshot, NodeInfo

SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"
VOLUME_NODE_CONFLICT = "node(s) had volume node affinity conflict"
NO_VOLUME_TO_BIND = "node(s) didn't find available persistent volumes to bind"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
NO_PROVISIONER = "kubernetes.io/no-provisioner"


def _claim_not_found(name: str) -> str:
    return f'persistentvolumeclaim "{name}" not found'


def _pv_affinity(pv: dict[str, Any]) -> NodeSelector | None:
    required = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required")
    return None if required is None else node_selector(required)


@dataclass(frozen=True, slots=True)
class _Volume:
    name: str
    size: int
    affinity: NodeSelector | None

    def reachable(self, node: NodeInfo) -> bool:
        return self.affinity is None or self.affinity.matches(node.node.labels, node.name)


@dataclass(frozen=True, slots=True)
class _Candidates:
    """Available static PVs one unbound WaitForFirstConsumer claim could take."""

    volumes: tuple[_Volume, ...]


@dataclass(slots=True)
class _State:
    bound: list[NodeSelector]
    unbound: list[_Candidates]


def _candidates(claim: dict[str, Any], class_name: str, snapshot: ClusterSnapshot) -> _Candidates:
    spec = claim.get("spec") or {}
    wanted = lenient(((spec.get("resources") or {}).get("requests") or {}).get("storage"), False)
    modes = set(spec.get("accessModes") or ())
    found = []
    for name, pv in snapshot.volumes.items():
        pv_spec, phase = pv.get("spec") or {}, (pv.get("status") or {}).get("phase")
        if phase != "Available" or pv_spec.get("claimRef") or pv_spec.get("storageClassName") != class_name:
            continue
        size = lenient((pv_spec.get("capacity") or {}).get("storage"), False)
        if size < wanted or not modes <= set(pv_spec.get("accessModes") or ()):
            continue
        found.append(_Volume(name, size, _pv_affinity(pv)))
    return _Candidates(tuple(sorted(found, key=lambda v: (v.size, v.name))))


@dataclass(frozen=True)
class VolumePlan:
    """What binding `pod` to a node needs first (upstream's VolumeBinding PreBind)."""

    provision: tuple[str, ...] = ()  # claims to annotate with the selected node
    static: tuple[tuple[str, dict[str, Any]], ...] = ()  # (claim, the PV as last seen)

    @property
    def empty(self) -> bool:
        return not self.provision and not self.static


def plan_volumes(pod: PodInfo, snapshot: ClusterSnapshot, node: NodeInfo) -> VolumePlan:
    """For each unbound WaitForFirstConsumer claim: let its provisioner create the volume on
    `node`, or take the smallest Available static PV reachable from `node`. A chosen PV is
    reserved in the snapshot at once so the next pod does not pick it too."""
    provision: list[str] = []
    static: list[tuple[str, dict[str, Any]]] = []
    for name in pod.claim_names:
        claim = snapshot.claims.get(f"{pod.namespace}/{name}") or {}
        spec = claim.get("spec") or {}
        if spec.get("volumeName") or not claim:
            continue
        class_name = str(spec.get("storageClassName") or "")
        storage_class = snapshot.storage_classes.get(class_name) or {}
        if storage_class.get("volumeBindingMode") != "WaitForFirstConsumer":
            continue
        if storage_class.get("provisioner") != NO_PROVISIONER:
            provision.append(name)
            continue
        chosen = next((v for v in _candidates(claim, class_name, snapshot).volumes
                       if v.reachable(node)), None)
        if chosen is not None:
            pv = snapshot.volumes[chosen.name]
            snapshot.volumes[chosen.name] = {**pv, "spec": {**(pv.get("spec") or {}), "claimRef": {
                "namespace": pod.namespace, "name": name}}}
            static.append((name, pv))
    return VolumePlan(tuple(provision), tuple(static))


class VolumeBinding(FilterPlugin):
    name: ClassVar[str] = "VolumeBinding"
    events: ClassVar[frozenset[str]] = frozenset({fw.NODE_ADD, fw.NODE_UPDATE, fw.VOLUME_CHANGE})

    def pre_filter(self, pod: PodInfo, snapshot: ClusterSnapshot) -> Any:
        if not pod.claim_names:
            return SKIP
        state = _State([], [])
        for name in pod.claim_names:
            claim = snapshot.claims.get(f"{pod.namespace}/{name}")
            if claim is None:
                return Status.unresolvable(self.name, _claim_not_found(name))
            if (claim.get("metadata") or {}).get("deletionTimestamp"):
                return Status.unresolvable(self.name, f'persistentvolumeclaim "{name}" is being deleted')
            spec = claim.get("spec") or {}
            volume_name = spec.get("volumeName")
            if volume_name:
                pv = snapshot.volumes.get(str(volume_name))
                affinity = _pv_affinity(pv) if pv is not None else None
                if affinity is not None:
                    state.bound.append(affinity)
                continue
            class_name = str(spec.get("storageClassName") or "")
            storage_class = snapshot.storage_classes.get(class_name) or {}
            if storage_class.get("volumeBindingMode") != "WaitForFirstConsumer":
                return Status.unresolvable(self.name, UNBOUND_IMMEDIATE)
            if storage_class.get("provisioner") == NO_PROVISIONER:
                state.unbound.append(_candidates(claim, class_name, snapshot))
        return state

    def filter(self, state: _State, pod: PodInfo, node: NodeInfo) -> Status | None:
        labels, name = node.node.labels, node.name
        for affinity in state.bound:
            if not affinity.matches(labels, name):
                return Status.unresolvable(self.name, VOLUME_NODE_CONFLICT)
        for candidates in state.unbound:
            if not any(v.reachable(node) for v in candidates.volumes):
                return Status.unschedulable(self.name, NO_VOLUME_TO_BIND)
        return None


def release_volumes(plan: VolumePlan, snapshot: ClusterSnapshot) -> None:
    """Undo the reservations of a plan whose pod was not bound (unless the PV changed since)."""
    for _, original in plan.static:
        name = str((original.get("metadata") or {}).get("name"))
        reserved = snapshot.volumes.get(name) or {}
        if (reserved.get("metadata") or {}).get("resourceVersion") == \
                (original.get("metadata") or {}).get("resourceVersion"):
            snapshot.volumes[name] = original
