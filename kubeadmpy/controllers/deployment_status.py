"""Deployment status as upstream computes it: counts from the ReplicaSets, and the Available
and Progressing conditions with their reasons and messages (which `kubectl rollout status`
reads), including the progress deadline. Pure functions, so the rules are testable alone;
deployment.py stores the result.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from kubeadmpy.controllers.common import (
    JSONObject,
    find_condition,
    int_or_percent,
    meta,
    now_rfc3339,
    parse_time,
    set_condition,
)


def spec_replicas(obj: JSONObject) -> int:
    return int((obj.get("spec") or {}).get("replicas", 1) or 0)


def stat(obj: JSONObject, field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def surge_and_unavailable(deployment: JSONObject) -> tuple[int, int]:
    """maxSurge rounds up, maxUnavailable down; both 0 would deadlock so unavailable is 1."""
    replicas = spec_replicas(deployment)
    rolling = ((deployment.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    surge = int_or_percent(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def is_complete(deployment: JSONObject, new_rs: JSONObject | None,
                owned: list[JSONObject]) -> bool:
    """Upstream's DeploymentComplete: every replica updated and available, no old ones."""
    replicas = spec_replicas(deployment)
    return new_rs is not None and stat(new_rs, "replicas") == replicas and \
        sum(stat(rs, "replicas") for rs in owned) == replicas and \
        stat(new_rs, "availableReplicas") == replicas and \
        spec_replicas(new_rs) == replicas


def compute_status(deployment: JSONObject, owned: list[JSONObject],
                   new_rs: JSONObject | None, *, created: bool
                   ) -> tuple[JSONObject, float | None]:
    """The status to store, and when to look again (the progress deadline), if ever."""
    spec = deployment.get("spec") or {}
    replicas = spec_replicas(deployment)
    old = deployment.get("status") or {}
    available = sum(stat(rs, "availableReplicas") for rs in owned)
    status: JSONObject = {
        "observedGeneration": meta(deployment).get("generation", 1),
        "replicas": sum(stat(rs, "replicas") for rs in owned),
        "updatedReplicas": stat(new_rs, "replicas") if new_rs is not None else 0,
        "readyReplicas": sum(stat(rs, "readyReplicas") for rs in owned),
        "availableReplicas": available,
        "unavailableReplicas": max(0, replicas - available)}
    if old.get("collisionCount"):
        status["collisionCount"] = old["collisionCount"]
    status["conditions"] = copy.deepcopy(old.get("conditions") or [])
    now = now_rfc3339()
    _, max_unavailable = surge_and_unavailable(deployment)
    if available >= replicas - max_unavailable:
        set_condition(status, "Available", "True", "MinimumReplicasAvailable",
                      "Deployment has minimum availability.", now, with_update_time=True)
    else:
        set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                      "Deployment does not have minimum availability.", now,
                      with_update_time=True)
    requeue = _progress(deployment, status, old, owned, new_rs, created, now)
    _keep_update_times(status, old)
    return status, None if spec.get("paused") else requeue


def _progress(deployment: JSONObject, status: JSONObject, old: JSONObject,
              owned: list[JSONObject], new_rs: JSONObject | None, created: bool,
              now: str) -> float | None:
    """Progressing condition as upstream; returns seconds until the deadline to check."""
    spec = deployment.get("spec") or {}
    deadline = spec.get("progressDeadlineSeconds", 600)
    current = find_condition(status, "Progressing")
    if spec.get("paused"):  # the deadline does not run while paused (upstream)
        if deadline is not None and (current or {}).get("reason") != "DeploymentPaused":
            set_condition(status, "Progressing", "Unknown", "DeploymentPaused",
                          "Deployment is paused", now, with_update_time=True)
        return None
    if deadline is None:
        return None
    if (current or {}).get("reason") == "DeploymentPaused":
        set_condition(status, "Progressing", "Unknown", "DeploymentResumed",
                      "Deployment is resumed", now, with_update_time=True)
        return float(deadline)
    name = meta(new_rs)["name"] if new_rs is not None else ""
    replicas = spec_replicas(deployment)
    if new_rs is not None and is_complete(deployment, new_rs, owned):
        set_condition(status, "Progressing", "True", "NewReplicaSetAvailable",
                      f'ReplicaSet "{name}" has successfully progressed.', now,
                      with_update_time=True)
        return None
    if created and new_rs is not None:
        set_condition(status, "Progressing", "True", "NewReplicaSetCreated",
                      f'Created new replica set "{name}"', now, with_update_time=True)
        return float(deadline)
    if current is None and new_rs is not None:
        set_condition(status, "Progressing", "True", "FoundNewReplicaSet",
                      f'Found new replica set "{name}"', now, with_update_time=True)
        return float(deadline)
    if current is not None and current.get("reason") == "ProgressDeadlineExceeded":
        return None
    if _progressed(status, old, replicas) and new_rs is not None:
        set_condition(status, "Progressing", "True", "ReplicaSetUpdated",
                      f'ReplicaSet "{name}" is progressing.', now, with_update_time=True)
        return float(deadline)
    last = parse_time((current or {}).get("lastUpdateTime"))
    if last is None:
        return float(deadline)
    remaining = last + float(deadline) - time.time()
    if remaining <= 0:
        set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded",
                      f'ReplicaSet "{name}" has timed out progressing.', now,
                      with_update_time=True)
        return None
    return remaining + 1.0


def _progressed(new: JSONObject, old: JSONObject, replicas: int) -> bool:
    """Upstream: more updated/ready/available replicas, or fewer old ones, than last time."""
    def old_replicas(s: JSONObject) -> int:
        return int(s.get("replicas") or 0) - int(s.get("updatedReplicas") or 0)
    return any(int(new.get(f) or 0) > int(old.get(f) or 0)
               for f in ("updatedReplicas", "readyReplicas", "availableReplicas")) or \
        old_replicas(new) < old_replicas(old)


def _keep_update_times(status: JSONObject, old: JSONObject) -> None:
    """A condition whose status, reason and message did not change keeps its timestamps, so
    an unchanged Deployment is not rewritten on every sync."""
    before = {c.get("type"): c for c in old.get("conditions") or []}
    for condition in status.get("conditions") or []:
        previous = before.get(condition.get("type"))
        if previous and all(previous.get(k) == condition.get(k)
                            for k in ("status", "reason", "message")):
            condition["lastUpdateTime"] = previous.get("lastUpdateTime",
                                                       condition.get("lastUpdateTime"))
            condition["lastTransitionTime"] = previous.get(
                "lastTransitionTime", condition.get("lastTransitionTime"))


def comparable(status: JSONObject) -> Any:
    return {k: v for k, v in status.items() if v not in (0, None, [])}
