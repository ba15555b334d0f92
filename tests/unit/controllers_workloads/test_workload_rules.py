"""The pure rules inside the workload controllers, table-driven: intstr scaling, rolling-update
budgets, pod deletion ranking, condition timestamps, template hashes, taint toleration and
DaemonSet eligibility, cron fire times and Job names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubeadmpy.client.clock import FakeClock
from kubeadmpy.controllers.common import (
    SAFE_ALPHABET,
    Expectations,
    int_or_percent,
    selector_matches,
    set_condition,
    template_hash,
)
from kubeadmpy.controllers.cronjob import job_name, schedule_times
from kubeadmpy.controllers.daemonset import node_fits, tolerates
from kubeadmpy.controllers.deployment_status import surge_and_unavailable
from kubeadmpy.controllers.replicaset import deletion_rank
from kubeadmpy.controllers.statefulset import ordinal_of


@pytest.mark.parametrize(("value", "total", "up", "expected"), [
    ("25%", 10, True, 3), ("25%", 10, False, 2), (2, 10, True, 2), ("0%", 5, True, 0),
    (None, 5, True, 0), ("100%", 3, False, 3), ("1", 4, False, 1)])
def test_int_or_percent_rounds_like_upstream(value: Any, total: int, up: bool,
                                             expected: int) -> None:
    assert int_or_percent(value, total, round_up=up) == expected


def deployment(replicas: int, **rolling: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"replicas": replicas}
    if rolling:
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": rolling}
    return {"spec": spec}


@pytest.mark.parametrize(("d", "expected"), [
    (deployment(10), (3, 2)), (deployment(3), (1, 0)), (deployment(5, maxSurge=0,
                                                                   maxUnavailable=0), (0, 1)),
    (deployment(4, maxSurge="50%", maxUnavailable=1), (2, 1)),
    (deployment(1, maxUnavailable=3), (1, 1))],
    ids=["defaults-of-10", "defaults-of-3", "both-zero-means-one-unavailable",
         "explicit", "unavailable-capped-at-replicas"])
def test_rolling_update_budget(d: dict[str, Any], expected: tuple[int, int]) -> None:
    assert surge_and_unavailable(d) == expected


def pod(name: str, *, node: str = "", phase: str = "Pending", ready: bool = False,
        created: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    return {"metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"}]}}


def test_surplus_pods_are_deleted_least_valuable_first() -> None:
    pods = [pod("ready-old", node="n", phase="Running", ready=True),
            pod("ready-new", node="n", phase="Running", ready=True,
                created="2026-01-02T00:00:00Z"),
            pod("running-not-ready", node="n", phase="Running"),
            pod("pending-on-node", node="n"), pod("unscheduled")]
    assert [p["metadata"]["name"] for p in sorted(pods, key=deletion_rank)] == [
        "unscheduled", "pending-on-node", "running-not-ready", "ready-new", "ready-old"]


def test_condition_keeps_transition_time_while_status_is_unchanged() -> None:
    status: dict[str, Any] = {}
    set_condition(status, "Available", "False", "A", "a", "t1")
    set_condition(status, "Available", "False", "B", "b", "t2")
    assert status["conditions"][0]["lastTransitionTime"] == "t1"
    set_condition(status, "Available", "True", "C", "c", "t3", with_update_time=True)
    assert status["conditions"] == [{"type": "Available", "status": "True",
                                     "lastUpdateTime": "t3", "lastTransitionTime": "t3",
                                     "reason": "C", "message": "c"}]


def test_template_hash_is_stable_short_and_uses_the_safe_alphabet() -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
        {"name": "x", "image": "x"}]}}
    digest = template_hash(template)
    assert digest == template_hash({"spec": template["spec"], "metadata": template["metadata"]})
    assert set(digest) <= set(SAFE_ALPHABET) and 1 <= len(digest) <= 10
    assert template_hash(template, collision_count=1) != digest


def test_empty_selectors_select_nothing() -> None:
    assert not selector_matches({}, {"app": "web"})
    assert not selector_matches(None, {"app": "web"})
    assert selector_matches({"matchLabels": {"app": "web"}}, {"app": "web", "x": "y"})


def test_expectations_wait_for_observed_events_or_expire() -> None:
    clock = FakeClock()
    exp = Expectations(clock)
    exp.expect("ns/rs", adds=2)
    exp.observed_add("ns/rs")
    assert not exp.satisfied("ns/rs")
    exp.observed_add("ns/rs")
    assert exp.satisfied("ns/rs")
    exp.expect("ns/rs", dels=1)
    clock.advance(301)
    assert exp.satisfied("ns/rs")


TAINT = {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}


@pytest.mark.parametrize(("toleration", "expected"), [
    ({"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}, True),
    ({"key": "dedicated", "operator": "Exists"}, True),
    ({"operator": "Exists"}, True),
    ({"key": "dedicated", "value": "other"}, False),
    ({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}, False),
    ({"key": "", "operator": "Equal"}, False)],
    ids=["exact", "key-exists", "everything", "other-value", "other-effect",
         "empty-key-needs-exists"])
def test_tolerations_match_taints_as_upstream(toleration: dict[str, Any],
                                              expected: bool) -> None:
    assert tolerates(toleration, TAINT) is expected


def node(name: str, *, taints: list[dict[str, str]] | None = None,
         labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": taints or []}}


@pytest.mark.parametrize(("spec", "n", "expected"), [
    ({}, node("a"), (True, True)),
    ({}, node("a", taints=[TAINT]), (False, True)),
    ({}, node("a", taints=[{"key": "k", "effect": "NoExecute"}]), (False, False)),
    ({}, node("a", taints=[{"key": "node.kubernetes.io/unschedulable",
                            "effect": "NoSchedule"}]), (True, True)),
    ({}, node("a", taints=[{"key": "k", "effect": "PreferNoSchedule"}]), (True, True)),
    ({"nodeSelector": {"disk": "ssd"}}, node("a", labels={"disk": "hdd"}), (False, False)),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["z1"]}]}]}}}},
     node("a", labels={"zone": "z1"}), (True, True))],
    ids=["plain-node", "untolerated-noschedule-keeps-running-pod",
         "untolerated-noexecute-evicts", "cordoned-node-is-tolerated-automatically",
         "prefer-no-schedule-ignored", "node-selector-mismatch", "required-affinity-match"])
def test_daemonset_node_eligibility(spec: dict[str, Any], n: dict[str, Any],
                                    expected: tuple[bool, bool]) -> None:
    assert node_fits(spec, n) == expected


def test_cron_fire_times_between_two_moments_and_the_next_one() -> None:
    since = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    until = datetime(2026, 1, 1, 0, 3, 10, tzinfo=UTC)
    missed, upcoming = schedule_times("* * * * *", "", since, until)
    assert [m.minute for m in missed] == [1, 2, 3]
    assert upcoming == datetime(2026, 1, 1, 0, 4, tzinfo=UTC)
    missed, _ = schedule_times("@hourly", "", since, datetime(2026, 1, 1, 5, tzinfo=UTC))
    assert [m.hour for m in missed] == [1, 2, 3, 4, 5]


def test_cron_time_zone_moves_the_fire_time() -> None:
    since = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    missed, _ = schedule_times("0 9 * * *", "Europe/Berlin", since,
                               datetime(2026, 7, 2, 0, 0, tzinfo=UTC))
    assert [m.astimezone(UTC).hour for m in missed] == [7]  # 09:00 CEST is 07:00 UTC


@pytest.mark.parametrize(("schedule", "zone"), [("61 * * * *", ""), ("* * * * *", "Mars/Base")])
def test_unusable_schedules_are_refused(schedule: str, zone: str) -> None:
    with pytest.raises(ValueError):
        schedule_times(schedule, zone, datetime.now(UTC), datetime.now(UTC))


def test_job_and_pod_names() -> None:
    assert job_name("tick", datetime(2026, 1, 1, 0, 1, tzinfo=UTC)) == \
        f"tick-{int(datetime(2026, 1, 1, 0, 1, tzinfo=UTC).timestamp()) // 60}"
    assert ordinal_of("web", {"metadata": {"name": "web-12"}}) == 12
    assert ordinal_of("web", {"metadata": {"name": "web-x"}}) is None
    assert ordinal_of("web", {"metadata": {"name": "webapp-1"}}) is None
