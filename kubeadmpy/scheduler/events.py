"""The Events and Pod condition the scheduler writes, shaped as upstream's scheduler writes them.

`kubectl describe pod` shows these: a Warning `FailedScheduling` with the "0/N nodes are
available: ..." message when no node fits, a Normal `Scheduled` "Successfully assigned ns/pod to
node" after binding, and the Pod's `PodScheduled=False/Unschedulable` condition. A repeated
identical failure bumps the count of the previous Event instead of writing a new one, as
upstream's event aggregation does, so a pod stuck for hours leaves one Event, not thousands.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from kubeadmpy.scheduler.model import PodInfo

SCHEDULER_NAME = "default-scheduler"
FAILED_SCHEDULING = "FailedScheduling"
SCHEDULED = "Scheduled"


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pod_event(pod: PodInfo, *, reason: str, message: str, warning: bool, now: datetime,
              instance: str) -> dict[str, Any]:
    """A core/v1 Event about `pod` (what upstream's recorder stores, read through core/v1)."""
    meta = pod.raw.get("metadata") or {}
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{pod.name}.{secrets.token_hex(8)}", "namespace": pod.namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": pod.namespace,
                           "name": pod.name, "uid": pod.uid,
                           "resourceVersion": str(meta.get("resourceVersion", ""))},
        "reason": reason, "message": message, "type": "Warning" if warning else "Normal",
        "action": "Scheduling" if warning else "Binding",
        "source": {"component": SCHEDULER_NAME},
        "reportingComponent": SCHEDULER_NAME, "reportingInstance": instance,
        "firstTimestamp": rfc3339(now), "lastTimestamp": rfc3339(now), "count": 1,
        "eventTime": micro_time(now),
    }


def scheduled_message(pod: PodInfo, node: str) -> str:
    return f"Successfully assigned {pod.namespace}/{pod.name} to {node}"


def unschedulable_condition_patch(message: str, now: datetime) -> dict[str, Any]:
    """Strategic-merge patch for pods/status: conditions merge by `type`."""
    return {"status": {"conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": message, "lastProbeTime": None, "lastTransitionTime": rfc3339(now)}]}}
