"""Simulated nodes: Node objects with no kubelet behind them, for tests and benchmarks at scale.

Until a kubelet registers real nodes (and to measure the scheduler on thousands of them), tests
create Node objects shaped like a kubelet's: capacity/allocatable, a Ready condition, the
well-known hostname/os/arch labels and, if asked, a zone label. They run nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def simulated_node(name: str, *, cpu: str = "4", memory: str = "16Gi", pods: int = 110,
                   labels: Mapping[str, str] | None = None,
                   taints: Sequence[Mapping[str, str]] = (), ready: bool = True,
                   unschedulable: bool = False, extra: Mapping[str, str] | None = None,
                   images: Sequence[tuple[str, int]] = ()) -> dict[str, Any]:
    resources = {"cpu": cpu, "memory": memory, "pods": str(pods),
                 "ephemeral-storage": "100Gi", **(extra or {})}
    node: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", **(labels or {})}},
        "spec": {},
        "status": {
            "capacity": dict(resources), "allocatable": dict(resources),
            "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                            "reason": "KubeletReady" if ready else "KubeletNotReady"}],
        },
    }
    if taints:
        node["spec"]["taints"] = [dict(t) for t in taints]
    if unschedulable:
        node["spec"]["unschedulable"] = True
    if images:
        node["status"]["images"] = [{"names": [image], "sizeBytes": size} for image, size in images]
    return node


def simulated_nodes(count: int, *, prefix: str = "node", zones: int = 0,
                    labels: Mapping[str, str] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """`count` simulated nodes named <prefix>-0..; with `zones`, spread round-robin over zones."""
    nodes = []
    for index in range(count):
        node_labels = dict(labels or {})
        if zones:
            node_labels["topology.kubernetes.io/zone"] = f"zone-{index % zones}"
        nodes.append(simulated_node(f"{prefix}-{index}", labels=node_labels, **kwargs))
    return nodes
