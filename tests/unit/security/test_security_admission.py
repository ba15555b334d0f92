"""NamespaceLifecycle, ServiceAccount, Priority and DefaultTolerationSeconds admission, alone and
chained in the stack."""

from __future__ import annotations

from typing import Any

import pytest
from security_testkit import ObjectTable, pod, user

from kubeadmpy.security.namespace_lifecycle import NamespaceLifecycle
from kubeadmpy.security.node_restriction import AdmissionDenied, AdmissionRequest
from kubeadmpy.security.priority_admission import PriorityAdmission
from kubeadmpy.security.serviceaccount_admission import MOUNT_PATH, ServiceAccountAdmission
from kubeadmpy.security.stack import SecuritySettings, build_stack

ALICE = user("alice")


def namespaces() -> ObjectTable:
    table = ObjectTable()
    table.add("namespaces", {"metadata": {"name": "team"}, "status": {"phase": "Active"}})
    table.add("namespaces", {"metadata": {"name": "old", "deletionTimestamp": "2026-01-01T00:00:00Z"},
                             "status": {"phase": "Terminating"}})
    return table


def lifecycle(operation: str, resource: str, namespace: str = "", name: str = "",
              subresource: str = "") -> None:
    table = namespaces()
    plugin = NamespaceLifecycle(lambda n: table.get("namespaces", "", n))
    plugin.admit(AdmissionRequest(ALICE, operation, resource, subresource, "", namespace, name))


@pytest.mark.parametrize(("args", "message", "code"), [
    (("CREATE", "pods", "missing"), 'namespaces "missing" not found', 404),
    (("CREATE", "configmaps", "old"), "unable to create new content in namespace old because "
     "it is being terminated", 403),
    (("DELETE", "namespaces", "", "kube-system"), 'namespaces "kube-system" is forbidden: this '
     "namespace may not be deleted", 403),
    (("DELETE", "namespaces", "", "kube-public"), "may not be deleted", 403),
], ids=["creating in a missing namespace", "creating in a terminating namespace",
        "deleting kube-system", "deleting kube-public"])
def test_namespace_lifecycle_refusals(args: tuple[str, ...], message: str, code: int) -> None:
    with pytest.raises(AdmissionDenied) as caught:
        lifecycle(*args)
    assert message in str(caught.value) and caught.value.code == code


def test_namespace_lifecycle_lets_ordinary_work_through() -> None:
    lifecycle("CREATE", "pods", "team")
    lifecycle("UPDATE", "pods", "old", "p")  # finalizers must still be removable
    lifecycle("DELETE", "pods", "old", "p")
    lifecycle("CREATE", "pods", "old", "p", "eviction")
    lifecycle("DELETE", "namespaces", "", "team")
    lifecycle("DELETE", "namespaces", "", "kube-node-lease")  # as upstream: not immortal
    lifecycle("CREATE", "nodes")  # cluster-scoped


def service_accounts(**account: Any) -> ServiceAccountAdmission:
    table = ObjectTable()
    table.add("serviceaccounts", {"metadata": {"namespace": "ns", "name": "default"}, **account})
    table.add("serviceaccounts", {"metadata": {"namespace": "ns", "name": "builder"}})
    return ServiceAccountAdmission(table.getter("serviceaccounts"))


def create_pod(plugin: Any, obj: dict[str, Any]) -> dict[str, Any]:
    result = plugin.admit(AdmissionRequest(ALICE, "CREATE", "pods", namespace="ns", obj=obj))
    assert result is not None
    return dict(result)


def test_pods_get_the_default_account_and_a_projected_token() -> None:
    original = pod("ns", "web", service_account="")
    original["spec"]["initContainers"] = [{"name": "init", "image": "busybox"}]
    admitted = create_pod(service_accounts(), original)
    spec = admitted["spec"]
    assert spec["serviceAccountName"] == "default"
    (volume,) = [v for v in spec["volumes"] if v["name"].startswith("kube-api-access-")]
    assert len(volume["name"]) == len("kube-api-access-") + 5
    sources = volume["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == "metadata.namespace"
    for container in spec["containers"] + spec["initContainers"]:
        assert {"name": volume["name"], "readOnly": True, "mountPath": MOUNT_PATH} in \
            container["volumeMounts"]
    assert "volumeMounts" not in original["spec"]["containers"][0]  # input untouched


def test_automount_false_and_missing_accounts() -> None:
    opted_out = create_pod(service_accounts(automountServiceAccountToken=False),
                           pod("ns", "web", service_account=""))
    assert not [v for v in opted_out["spec"]["volumes"] if "projected" in v]
    pod_wins = pod("ns", "web", service_account="")
    pod_wins["spec"]["automountServiceAccountToken"] = True
    assert [v for v in create_pod(service_accounts(automountServiceAccountToken=False),
                                  pod_wins)["spec"]["volumes"] if "projected" in v]
    with pytest.raises(AdmissionDenied, match='serviceaccount "ghost" not found'):
        create_pod(service_accounts(), pod("ns", "web", service_account="ghost"))


def test_priority_classes() -> None:
    table = ObjectTable()
    table.add("priorityclasses", {"metadata": {"name": "high"}, "value": 1000,
                                  "preemptionPolicy": "Never"})
    table.add("priorityclasses", {"metadata": {"name": "normal"}, "value": 10,
                                  "globalDefault": True})
    classes = PriorityAdmission(lambda n: table.get("priorityclasses", "", n),
                                lambda: [o for (r, _, _), o in table.objects.items()
                                         if r == "priorityclasses"])

    def with_class(name: str, priority: int | None = None) -> dict[str, Any]:
        obj = pod("ns", "p")
        if name:
            obj["spec"]["priorityClassName"] = name
        if priority is not None:
            obj["spec"]["priority"] = priority
        return create_pod(classes, obj)["spec"]

    assert with_class("system-node-critical")["priority"] == 2000001000
    assert with_class("system-cluster-critical")["priority"] == 2000000000
    assert (with_class("high")["priority"], with_class("high")["preemptionPolicy"]) == (1000,
                                                                                     "Never")
    default = with_class("")
    assert (default["priority"], default["priorityClassName"]) == (10, "normal")
    with pytest.raises(AdmissionDenied, match="no PriorityClass with name nope"):
        with_class("nope")
    with pytest.raises(AdmissionDenied, match=r"priority \(5\) must not be provided"):
        with_class("high", 5)


def test_the_stack_chains_admission_in_upstream_order() -> None:
    table = namespaces()
    table.add("serviceaccounts", {"metadata": {"namespace": "team", "name": "default"}})
    stack = build_stack(SecuritySettings.from_flags({"enable-admission-plugins":
                                                     "Priority,ServiceAccount,NamespaceLifecycle"}),
                        table)
    obj = pod("team", "web", service_account="")
    obj["spec"]["priorityClassName"] = "system-cluster-critical"
    stored = stack.admit(AdmissionRequest(ALICE, "CREATE", "pods", namespace="team", obj=obj))
    assert stored is not None
    assert stored["spec"]["priority"] == 2000000000
    assert stored["spec"]["serviceAccountName"] == "default"
    with pytest.raises(AdmissionDenied) as caught:
        stack.admit(AdmissionRequest(ALICE, "CREATE", "pods", namespace="gone", obj=obj))
    assert caught.value.code == 404


# ---- DefaultTolerationSeconds ------------------------------------------------------------------

def _tolerations_after(tolerations: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    from kubeadmpy.security.toleration_admission import DefaultTolerationSeconds

    obj = pod("team", "web", "")
    if tolerations is not None:
        obj["spec"]["tolerations"] = tolerations
    admitted = DefaultTolerationSeconds().admit(
        AdmissionRequest(ALICE, "CREATE", "pods", "", "", "team", "web", obj))
    result: list[dict[str, Any]] = ((admitted or obj)["spec"].get("tolerations") or [])
    return result


NOT_READY = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}
UNREACHABLE = {**NOT_READY, "key": "node.kubernetes.io/unreachable"}


@pytest.mark.parametrize(("given", "expected"), [
    pytest.param(None, [NOT_READY, UNREACHABLE], id="a plain pod gets both 300 s tolerations"),
    pytest.param([{**NOT_READY, "tolerationSeconds": 60}],
                 [{**NOT_READY, "tolerationSeconds": 60}, UNREACHABLE],
                 id="a pod's own not-ready toleration is kept and only unreachable is added"),
    pytest.param([{"operator": "Exists"}], [{"operator": "Exists"}],
                 id="a pod tolerating everything gets nothing added"),
    pytest.param([{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                   "effect": "NoSchedule"}],
                 [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                   "effect": "NoSchedule"}, NOT_READY, UNREACHABLE],
                 id="a NoSchedule toleration does not count for the NoExecute taint"),
])
def test_default_toleration_seconds(given: list[dict[str, Any]] | None,
                                    expected: list[dict[str, Any]]) -> None:
    assert _tolerations_after(given) == expected


def test_only_one_priority_class_may_be_the_global_default() -> None:
    table = ObjectTable()
    table.add("priorityclasses", {"metadata": {"name": "low"}, "value": 10,
                                  "globalDefault": True})
    plugin = PriorityAdmission(lambda n: table.get("priorityclasses", "", n),
                               lambda: [o for (r, _, _), o in table.objects.items()
                                        if r == "priorityclasses"])
    second = {"metadata": {"name": "high"}, "value": 100, "globalDefault": True}
    with pytest.raises(AdmissionDenied, match="PriorityClass low is already marked as default"):
        plugin.admit(AdmissionRequest(ALICE, "CREATE", "priorityclasses", "",
                                      "scheduling.k8s.io", "", "high", second))
    same = {"metadata": {"name": "low"}, "value": 10, "globalDefault": True,
            "description": "changed"}
    plugin.admit(AdmissionRequest(ALICE, "UPDATE", "priorityclasses", "", "scheduling.k8s.io",
                                  "", "low", same))
