"""Deployment status rules alone: counts, Available and Progressing with upstream's reasons and
messages, the progress deadline and pausing."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.controllers.deployment_status import compute_status

LONG_AGO = "2020-01-01T00:00:00Z"


def deployment(replicas: int = 3, status: dict[str, Any] | None = None,
               **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": replicas, **spec}, "status": status or {}}


def rs(name: str, replicas: int, available: int) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "readyReplicas": available,
                       "availableReplicas": available}}


def progressing(status: dict[str, Any]) -> tuple[str, str, str]:
    cond = {c["type"]: c for c in status["conditions"]}["Progressing"]
    return cond["status"], cond["reason"], cond["message"]


def test_a_complete_rollout_reports_counts_and_new_replica_set_available() -> None:
    new = rs("web-a", 3, 3)
    status, requeue = compute_status(deployment(), [new], new, created=False)
    assert {k: status[k] for k in ("observedGeneration", "replicas", "updatedReplicas",
                                   "readyReplicas", "availableReplicas",
                                   "unavailableReplicas")} == {
        "observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
        "availableReplicas": 3, "unavailableReplicas": 0}
    assert progressing(status) == ("True", "NewReplicaSetAvailable",
                                   'ReplicaSet "web-a" has successfully progressed.')
    assert requeue is None


@pytest.mark.parametrize(("d", "new", "created", "expected"), [
    (deployment(), rs("web-b", 1, 0), True,
     ("True", "NewReplicaSetCreated", 'Created new replica set "web-b"')),
    (deployment(), rs("web-b", 1, 0), False,
     ("True", "FoundNewReplicaSet", 'Found new replica set "web-b"')),
    (deployment(paused=True), rs("web-b", 1, 0), False,
     ("Unknown", "DeploymentPaused", "Deployment is paused")),
    (deployment(progressDeadlineSeconds=10, status={"replicas": 1, "updatedReplicas": 1,
                                                    "conditions": [
        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
         "message": "x", "lastUpdateTime": LONG_AGO, "lastTransitionTime": LONG_AGO}]}),
     rs("web-b", 1, 0), False,
     ("False", "ProgressDeadlineExceeded", 'ReplicaSet "web-b" has timed out progressing.')),
], ids=["new-replica-set-created", "found-on-first-sync", "paused", "deadline-exceeded"])
def test_progressing_reasons(d: dict[str, Any], new: dict[str, Any], created: bool,
                             expected: tuple[str, str, str]) -> None:
    status, _ = compute_status(d, [new], new, created=created)
    assert progressing(status) == expected


def test_available_needs_replicas_minus_max_unavailable() -> None:
    old, new = rs("web-a", 1, 1), rs("web-b", 3, 2)  # 3 of 4 available, 1 may be missing
    status, _ = compute_status(deployment(4), [new, old], new, created=False)
    available = {c["type"]: c for c in status["conditions"]}["Available"]
    assert (available["status"], available["reason"], available["message"]) == (
        "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    status, _ = compute_status(deployment(4), [rs("web-b", 4, 1)], None, created=False)
    available = {c["type"]: c for c in status["conditions"]}["Available"]
    assert (available["status"], available["reason"]) == ("False",
                                                          "MinimumReplicasUnavailable")
