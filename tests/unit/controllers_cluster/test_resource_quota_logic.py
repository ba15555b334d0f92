"""The resourcequota controller's recount: which kinds a quota names, usage summed from the
objects (finished pods and scoped-out pods left out, zero entries kept), and which quota events
trigger a recount (never its own status writes)."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.controllers.cluster.resource_quota import (
    _needs_recount,
    frees,
    kind_of,
    total_usage,
)


@pytest.mark.parametrize(("name", "kind"), [
    ("count/deployments.apps", ("deployments", "apps")),
    ("count/secrets", ("secrets", "")),
    ("configmaps", ("configmaps", "")),
    ("services.nodeports", ("services", "")),
    ("requests.storage", ("persistentvolumeclaims", "")),
    ("gold.storageclass.storage.k8s.io/requests.storage", ("persistentvolumeclaims", "")),
    ("requests.cpu", None),
])
def test_kind_of_a_quota_resource_name(name: str, kind: tuple[str, str] | None) -> None:
    assert kind_of(name) == kind


def a_pod(cpu: str, phase: str = "Running", deadline: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "resources": {"requests": {
        "cpu": cpu, "memory": "64Mi"}}}]}
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    return {"metadata": {"name": "p"}, "spec": spec, "status": {"phase": phase}}


def test_usage_is_summed_from_live_objects() -> None:
    hard = {"pods": "10", "count/pods": "10", "requests.cpu": "4", "requests.memory": "1Gi",
            "secrets": "5"}
    quota = {"spec": {"hard": hard}}
    pods = [a_pod("500m"), a_pod("250m"), a_pod("1", phase="Succeeded")]
    used = total_usage(hard, {("pods", ""): pods, ("secrets", ""): []}, quota)
    assert used == {"pods": "2", "count/pods": "3", "requests.cpu": "750m",
                    "requests.memory": "128Mi", "secrets": "0"}


def test_scoped_quota_counts_only_matching_pods() -> None:
    hard = {"pods": "10"}
    quota = {"spec": {"hard": hard, "scopes": ["Terminating"]}}
    pods = [a_pod("1"), a_pod("1", deadline=30)]
    assert total_usage(hard, {("pods", ""): pods}, quota) == {"pods": "1"}


@pytest.mark.parametrize(("status", "recount"), [
    ({}, True),
    ({"hard": {"pods": "2"}, "used": {"pods": "1"}}, False),
    ({"hard": {"pods": "1"}, "used": {"pods": "1"}}, True),
], ids=["a new quota", "a status write", "a changed limit"])
def test_which_quota_events_trigger_a_recount(status: dict[str, Any], recount: bool) -> None:
    quota = {"metadata": {"name": "q", "namespace": "n"}, "spec": {"hard": {"pods": "2"}},
             "status": status}
    assert bool(_needs_recount(quota)) is recount


def test_pods_stuck_terminating_past_their_grace_stop_counting() -> None:
    hard = {"pods": "10", "count/pods": "10"}
    stuck = a_pod("1")
    stuck["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z",
                             deletionGracePeriodSeconds=30)
    at_deletion = 1767225600.0  # 2026-01-01T00:00:00Z
    pods = {("pods", ""): [a_pod("1"), stuck]}
    assert total_usage(hard, pods, {}, at_deletion + 10) == {"pods": "2", "count/pods": "2"}
    assert total_usage(hard, pods, {}, at_deletion + 31) == {"pods": "1", "count/pods": "2"}


def a_service(kind: str) -> dict[str, Any]:
    return {"metadata": {"name": "s"}, "spec": {"type": kind, "ports": [{"port": 80}]}}


@pytest.mark.parametrize(("old", "new", "freed"), [
    ("NodePort", "ClusterIP", True),
    ("LoadBalancer", "NodePort", True),
    ("ClusterIP", "NodePort", False),
    ("ClusterIP", "ClusterIP", False),
])
def test_a_service_update_that_frees_node_ports_triggers_a_recount(old: str, new: str,
                                                                   freed: bool) -> None:
    assert frees("services", a_service(old), a_service(new)) is freed
