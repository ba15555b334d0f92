"""Builders for the Pod dicts scheduler tests feed in, shaped as the API returns them."""

from __future__ import annotations

from typing import Any

from kubeadmpy.scheduler.model import PodInfo, pod_info
from kubeadmpy.scheduler.simulated import simulated_node
from kubeadmpy.scheduler.snapshot import ClusterSnapshot


def pod_dict(name: str = "web", *, namespace: str = "default", cpu: str | None = None,
             memory: str | None = None, labels: dict[str, str] | None = None,
             node: str = "", spec: dict[str, Any] | None = None,
             priority: int = 0, created: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: dict[str, Any] = {"name": "c", "image": "registry.local/app:1"}
    if requests:
        container["resources"] = {"requests": requests}
    body: dict[str, Any] = {"containers": [container], **(spec or {})}
    if node:
        body["nodeName"] = node
    if priority:
        body["priority"] = priority
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                         "labels": labels or {}, "creationTimestamp": created},
            "spec": body, "status": {"phase": "Pending"}}


def pod(name: str = "web", **kwargs: Any) -> PodInfo:
    return pod_info(pod_dict(name, **kwargs))


def cluster(*nodes: dict[str, Any], pods: tuple[dict[str, Any], ...] = ()) -> ClusterSnapshot:
    snapshot = ClusterSnapshot()
    for node in nodes:
        snapshot.set_node(node)
    for raw in pods:
        snapshot.set_pod(raw)
    return snapshot


def zoned_node(name: str, zone: str, **kwargs: Any) -> dict[str, Any]:
    labels = {"topology.kubernetes.io/zone": zone, **kwargs.pop("labels", {})}
    return simulated_node(name, labels=labels, **kwargs)
