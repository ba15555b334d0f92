"""Volume topology: a pod may only go where the PersistentVolumes of its claims are reachable.

Bound claims: the bound PV's `spec.nodeAffinity.required` must match the node. Unbound claims of
an Immediate class reject the pod outright (the PV controller binds them first). Unbound claims
of a WaitForFirstConsumer class are fine when the class has a provisioner (it will create the
volume where the pod lands); with `kubernetes.io/no-provisioner` some Available PV of that class,
big enough, with the access modes and a node affinity matching the node, must exist. Reason
strings are upstream's (VolumeBinding plugin).
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
class _Candidates:
    """Available static PVs one unbound WaitForFirstConsumer claim could take."""

    affinities: tuple[NodeSelector | None, ...]


@dataclass(slots=True)
class _State:
    bound: list[NodeSelector]
    unbound: list[_Candidates]


def _candidates(claim: dict[str, Any], class_name: str, snapshot: ClusterSnapshot) -> _Candidates:
    spec = claim.get("spec") or {}
    wanted = lenient(((spec.get("resources") or {}).get("requests") or {}).get("storage"), False)
    modes = set(spec.get("accessModes") or ())
    found = []
    for pv in snapshot.volumes.values():
        pv_spec, phase = pv.get("spec") or {}, (pv.get("status") or {}).get("phase")
        if phase != "Available" or pv_spec.get("claimRef") or pv_spec.get("storageClassName") != class_name:
            continue
        if lenient((pv_spec.get("capacity") or {}).get("storage"), False) < wanted:
            continue
        if not modes <= set(pv_spec.get("accessModes") or ()):
            continue
        found.append(_pv_affinity(pv))
    return _Candidates(tuple(found))


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
            if not any(a is None or a.matches(labels, name) for a in candidates.affinities):
                return Status.unschedulable(self.name, NO_VOLUME_TO_BIND)
        return None
