"""ResourceQuota arithmetic and admission: what objects charge, upstream's refusals (exceeded,
status unknown, missing requests), and charges written by compare-and-swap — a writer that
loses the race re-checks against the winner's usage."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from security_testkit import user

from kubeadmpy.security import resource_quota
from kubeadmpy.security.node_restriction import AdmissionDenied, AdmissionRequest
from kubeadmpy.security.resource_quota import QuotaRefused, charge, usage_of
from kubeadmpy.security.resource_quota_admission import ResourceQuotaAdmission, StatusMutation

ALICE = user("alice")


def quota(hard: dict[str, str], used: dict[str, str] | None = None, name: str = "q",
          **spec: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"hard": hard}
    if used is not None:
        status["used"] = used
    return {"metadata": {"name": name, "namespace": "team", "resourceVersion": "1"},
            "spec": {"hard": hard, **spec}, "status": status}


def pod(requests: dict[str, str] | None = None, limits: dict[str, str] | None = None,
        phase: str = "", **spec: Any) -> dict[str, Any]:
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    obj: dict[str, Any] = {"metadata": {"name": "x"}, "spec": {
        "containers": [{"name": "c", "image": "busybox", "resources": resources}], **spec}}
    if phase:
        obj["status"] = {"phase": phase}
    return obj


def test_a_pod_charges_its_count_and_compute() -> None:
    usage = usage_of("pods", "", pod({"cpu": "250m", "memory": "64Mi"}, {"cpu": "1"}))
    assert usage == {"count/pods": 1, "pods": 1, "cpu": Decimal("0.25"),
                     "requests.cpu": Decimal("0.25"), "memory": 64 * 2**20,
                     "requests.memory": 64 * 2**20, "limits.cpu": 1}
    # a finished pod only keeps its object count
    assert usage_of("pods", "", pod({"cpu": "1"}, phase="Succeeded")) == {"count/pods": 1}


@pytest.mark.parametrize(("resource", "group", "obj", "expected"), [
    ("services", "", {"spec": {"type": "NodePort", "ports": [{"port": 1}, {"port": 2}]}},
     {"count/services": 1, "services": 1, "services.nodeports": 2}),
    ("persistentvolumeclaims", "", {"spec": {"storageClassName": "fast", "resources": {
        "requests": {"storage": "1Gi"}}}},
     {"count/persistentvolumeclaims": 1, "persistentvolumeclaims": 1,
      "requests.storage": 2**30, "fast.storageclass.storage.k8s.io/persistentvolumeclaims": 1,
      "fast.storageclass.storage.k8s.io/requests.storage": 2**30}),
    ("secrets", "", {}, {"count/secrets": 1, "secrets": 1}),
    ("deployments", "apps", {}, {"count/deployments.apps": 1}),
], ids=["a NodePort service", "a claim with a class", "a secret (legacy name too)",
        "a deployment"])
def test_what_other_kinds_charge(resource: str, group: str, obj: dict[str, Any],
                                 expected: dict[str, int]) -> None:
    assert usage_of(resource, group, obj) == expected


def test_charge_adds_to_used_in_the_quantitys_own_format() -> None:
    q = quota({"pods": "5", "requests.memory": "1Gi"}, {"pods": "1", "requests.memory": "0"})
    given = pod({"cpu": "1", "memory": "128Mi"})
    assert charge(q, "pods", "", given, usage_of("pods", "", given)) == {
        "pods": "2", "requests.memory": "128Mi"}
    # a quota that tracks nothing the object charges is left alone
    assert charge(quota({"secrets": "1"}, {"secrets": "0"}), "pods", "", given,
                  usage_of("pods", "", given)) is None


@pytest.mark.parametrize(("q", "obj", "message"), [
    (quota({"pods": "2"}, {"pods": "2"}), pod(),
     "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"),
    (quota({"requests.cpu": "1", "pods": "9"}, {"requests.cpu": "800m", "pods": "0"}),
     pod({"cpu": "300m", "memory": "1Mi"}),
     "exceeded quota: q, requested: requests.cpu=300m, used: requests.cpu=800m, "
     "limited: requests.cpu=1"),
    (quota({"pods": "2"}), pod(), "status unknown for quota: q, resources: pods"),
    (quota({"limits.cpu": "2", "requests.memory": "1Gi"}, {}), pod({"cpu": "1"}),
     "failed quota: q: must specify limits.cpu for: c; requests.memory for: c"),
], ids=["over a count", "over a compute sum", "before the controller's first count",
        "a pod without the limits the quota needs"])
def test_refusals_use_upstreams_words(q: dict[str, Any], obj: dict[str, Any],
                                      message: str) -> None:
    with pytest.raises(QuotaRefused) as caught:
        charge(q, "pods", "", obj, usage_of("pods", "", obj))
    assert str(caught.value) == message


def test_scoped_quotas_match_only_their_pods() -> None:
    q = quota({"pods": "1"}, {"pods": "1"}, scopes=["BestEffort"])
    assert charge(q, "pods", "", pod({"cpu": "1"}), {"pods": Decimal(1)}) is None
    with pytest.raises(QuotaRefused):
        charge(q, "pods", "", pod(), {"pods": Decimal(1)})
    assert not resource_quota.matches(q, "secrets", "", {})


@pytest.mark.parametrize(("requests", "best_effort"), [
    ({"ephemeral-storage": "1Gi"}, True),  # QoS looks at cpu and memory only
    ({"cpu": "0"}, True),  # a zero request makes no QoS class
    ({"memory": "64Mi"}, False),
])
def test_the_best_effort_scope_follows_the_qos_class(requests: dict[str, str],
                                                      best_effort: bool) -> None:
    q = quota({"pods": "1"}, {"pods": "0"}, scopes=["BestEffort"])
    assert resource_quota.matches(q, "pods", "", pod(requests)) is best_effort


class RacingWriter:
    """Compare-and-swap over a dict, where another create lands between read and write once."""

    def __init__(self, stored: dict[str, Any], interloper: dict[str, str] | None = None
                 ) -> None:
        self.stored = stored
        self.interloper = interloper
        self.writes = 0

    async def update(self, namespace: str, name: str, mutate: StatusMutation) -> None:
        while True:
            read = copy.deepcopy(self.stored)
            if self.interloper is not None:  # someone else's charge wins the race
                self.stored["status"]["used"] = self.interloper
                self.interloper = None
            new = mutate(copy.deepcopy(read))
            if new is None:
                return
            if read == self.stored:
                self.stored = new
                self.writes += 1
                return


def request(obj: dict[str, Any], operation: str = "CREATE") -> AdmissionRequest:
    return AdmissionRequest(ALICE, operation, "pods", "", "", "team", "x", obj)


async def test_admission_charges_before_the_create_and_dry_runs_do_not() -> None:
    stored = quota({"pods": "2"}, {"pods": "0"})
    writer = RacingWriter(stored)
    plugin = ResourceQuotaAdmission(lambda ns: [writer.stored])
    await plugin.evaluate(request(pod()), writer, dry_run=True)
    assert writer.writes == 0
    await plugin.evaluate(request(pod()), writer)
    assert writer.stored["status"]["used"] == {"pods": "1"}
    await plugin.evaluate(request(pod(), "UPDATE"), writer)  # updates are not charged
    assert writer.stored["status"]["used"] == {"pods": "1"}


async def test_the_loser_of_a_race_is_checked_against_the_winners_usage() -> None:
    stored = quota({"pods": "2"}, {"pods": "1"})
    writer = RacingWriter(stored, interloper={"pods": "2"})
    plugin = ResourceQuotaAdmission(lambda ns: [stored])  # the cache still says 1 of 2
    with pytest.raises(AdmissionDenied) as caught:
        await plugin.evaluate(request(pod()), writer)
    assert str(caught.value) == ('pods "x" is forbidden: exceeded quota: q, requested: pods=1, '
                                 "used: pods=2, limited: pods=2")
    assert writer.writes == 0


@pytest.mark.parametrize(("expression", "class_name", "selected"), [
    ({"operator": "In", "values": ["high"]}, "high", True),
    ({"operator": "In", "values": ["high"]}, "low", False),
    ({"operator": "In", "values": ["high"]}, "", False),
    ({"operator": "NotIn", "values": ["high"]}, "low", True),
    ({"operator": "NotIn", "values": ["high"]}, "", True),
    ({"operator": "Exists"}, "", False),
    ({"operator": "DoesNotExist"}, "", True),
], ids=["In, named", "In, other class", "In, no class", "NotIn, other class",
        "NotIn, no class", "Exists, no class", "DoesNotExist, no class"])
def test_priority_class_scope_selectors(expression: dict[str, Any], class_name: str,
                                        selected: bool) -> None:
    q = quota({"pods": "1"}, {"pods": "0"}, scopeSelector={"matchExpressions": [
        {"scopeName": "PriorityClass", **expression}]})
    given = pod(**({"priorityClassName": class_name} if class_name else {}))
    assert resource_quota.matches(q, "pods", "", given) is selected


async def test_updates_of_services_and_claims_pay_only_what_they_add() -> None:
    stored = quota({"services.nodeports": "2", "requests.storage": "3Gi"},
                   {"services.nodeports": "0", "requests.storage": "1Gi"})
    writer = RacingWriter(stored)
    plugin = ResourceQuotaAdmission(lambda ns: [writer.stored])
    cluster_ip = {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}, {"port": 443}]}}
    node_port = {**cluster_ip, "spec": {**cluster_ip["spec"], "type": "NodePort"}}
    await plugin.evaluate(AdmissionRequest(ALICE, "UPDATE", "services", "", "", "team", "web",
                                           node_port, cluster_ip), writer)
    assert writer.stored["status"]["used"]["services.nodeports"] == "2"

    def claim(size: str) -> dict[str, Any]:
        return {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {
            "storage": size}}}}
    resize = AdmissionRequest(ALICE, "UPDATE", "persistentvolumeclaims", "", "", "team",
                              "data", claim("2Gi"), claim("1Gi"))
    await plugin.evaluate(resize, writer)
    assert writer.stored["status"]["used"]["requests.storage"] == "2Gi"
    too_big = AdmissionRequest(ALICE, "UPDATE", "persistentvolumeclaims", "", "", "team",
                               "data", claim("5Gi"), claim("2Gi"))
    with pytest.raises(AdmissionDenied) as caught:
        await plugin.evaluate(too_big, writer)
    assert "exceeded quota: q, requested: requests.storage=3Gi, used: requests.storage=2Gi, " \
        "limited: requests.storage=3Gi" in str(caught.value)
    shrink = AdmissionRequest(ALICE, "UPDATE", "persistentvolumeclaims", "", "", "team",
                              "data", claim("1Gi"), claim("2Gi"))
    await plugin.evaluate(shrink, writer)  # gives nothing back: the controller recounts
    assert writer.stored["status"]["used"]["requests.storage"] == "2Gi"
