"""The Events and Pod condition the scheduler writes, shaped as upstream's scheduler writes them.

`kubectl describe pod` shows these: a Warning `FailedScheduling` with the "0/N nodes are
available: ..." message when no node fits, a Normal `Scheduled` "Successfully assigned ns/pod to
node" after binding, the Pod's `PodScheduled=False/Unschedulable` condition, and on a preempted
pod a Normal `Preempted` event and a `DisruptionTarget` condition. A repeated
identical failure bumps the count of the previous Event instead of writing a new one, as
upstream's event aggregation does, so a pod stuck for hours leaves one Event, not thousands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubeadmpy.client.events import NORMAL, WARNING, new_event, rfc3339
from kubeadmpy.scheduler.model import PodInfo

SCHEDULER_NAME = "default-scheduler"
FAILED_SCHEDULING = "FailedScheduling"
SCHEDULED = "Scheduled"
PREEMPTED = "Preempted"
SCHEDULING_GATED = "SchedulingGated"


_ACTIONS = {FAILED_SCHEDULING: "Scheduling", SCHEDULED: "Binding", PREEMPTED: "Preempting"}


def pod_event(pod: PodInfo, *, reason: str, message: str, warning: bool, now: datetime,
              instance: str) -> dict[str, Any]:
    """A core/v1 Event about `pod` (what upstream's recorder stores, read through core/v1)."""
    meta = pod.raw.get("metadata") or {}
    involved = {"apiVersion": "v1", "kind": "Pod", "namespace": pod.namespace,
                "name": pod.name, "uid": pod.uid,
                "resourceVersion": str(meta.get("resourceVersion", ""))}
    return new_event(involved, event_type=WARNING if warning else NORMAL, reason=reason,
                     message=message, component=SCHEDULER_NAME, now=now, instance=instance,
                     action=_ACTIONS.get(reason, "Scheduling"))


def scheduled_message(pod: PodInfo, node: str) -> str:
    return f"Successfully assigned {pod.namespace}/{pod.name} to {node}"


def unschedulable_condition_patch(message: str, now: datetime) -> dict[str, Any]:
    """Strategic-merge patch for pods/status: conditions merge by `type`."""
    return {"status": {"conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": message, "lastProbeTime": None, "lastTransitionTime": rfc3339(now)}]}}


def preempted_message(preemptor: PodInfo, node: str) -> str:
    return f"Preempted by pod {preemptor.uid} on node {node}"


def disruption_condition_patch(scheduler_name: str, now: datetime) -> dict[str, Any]:
    """The condition upstream sets on a victim before deleting it."""
    return {"status": {"conditions": [{
        "type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
        "message": f"{scheduler_name}: preempting to accommodate a higher priority pod",
        "lastTransitionTime": rfc3339(now)}]}}


def gated_condition_patch(now: datetime) -> dict[str, Any]:
    """What upstream reports for a pod held back by spec.schedulingGates."""
    return {"status": {"conditions": [{
        "type": "PodScheduled", "status": "False", "reason": SCHEDULING_GATED,
        "message": "Scheduling is blocked due to non-empty scheduling gates",
        "lastProbeTime": None, "lastTransitionTime": rfc3339(now)}]}}
