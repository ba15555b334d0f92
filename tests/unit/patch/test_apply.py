"""Server-side apply and managedFields: ownership, conflicts, force, and removal.

Semantics from the kubernetes.io "Server-Side Apply" page and structured-merge-diff: an Apply
owns what the applied configuration sets; changing a field someone else owns is a conflict
(409) unless forced; fields a manager stops applying are removed unless someone else owns them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from kubeadmpy.machinery.patch import server_side_apply, update_managed_fields
from kubeadmpy.machinery.schema import GVK
from kubeadmpy.machinery.status import APIStatusError

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2024, 5, 1, 12, 5, 0, tzinfo=UTC)


def a_configmap(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "default"}, "data": dict(data)}


def a_deployment(replicas: int = 1, *extra_containers: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                         "containers": [{"name": "web", "image": "nginx",
                                         "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                                        *extra_containers]}}}}


def fields_of(managed_fields: list[dict[str, Any]], manager: str) -> dict[str, Any]:
    entries = [e for e in managed_fields if e["manager"] == manager]
    assert len(entries) == 1, f"one entry for {manager}: {managed_fields}"
    fields: dict[str, Any] = entries[0]["fieldsV1"]
    return fields


def test_apply_creates_the_object_and_records_what_it_applied() -> None:
    merged, managed = server_side_apply(None, a_deployment(), "kubectl", now=T0)
    assert merged["spec"]["replicas"] == 1
    assert managed == [{
        "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1",
        "time": "2024-05-01T12:00:00Z", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {'k:{"name":"web"}': {
                    ".": {}, "f:image": {}, "f:name": {},
                    "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {
                        ".": {}, "f:containerPort": {}, "f:protocol": {}}}}}}}}}}]
    assert merged["metadata"]["managedFields"] == managed


def test_set_lists_are_owned_value_by_value() -> None:
    cm = a_configmap(a="1")
    cm["metadata"]["finalizers"] = ["example.com/x"]
    _, managed = server_side_apply(None, cm, "kubectl")
    assert fields_of(managed, "kubectl") == {
        "f:data": {"f:a": {}}, "f:metadata": {"f:finalizers": {'v:"example.com/x"': {}}}}


def test_changing_a_field_another_manager_owns_is_a_conflict() -> None:
    live, _ = server_side_apply(None, a_configmap(a="1", b="2"), "alice")
    with pytest.raises(APIStatusError) as raised:
        server_side_apply(live, a_configmap(a="9"), "bob")
    status = raised.value.to_status()
    assert status["code"] == 409 and status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "alice": .data.a'
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict",
                                            "message": 'conflict with "alice"',
                                            "field": ".data.a"}]


def test_several_conflicts_are_listed_per_manager() -> None:
    live, _ = server_side_apply(None, a_configmap(a="1", b="2"), "alice")
    with pytest.raises(APIStatusError) as raised:
        server_side_apply(live, a_configmap(a="9", b="9"), "bob")
    assert raised.value.message == ('Apply failed with 2 conflicts: conflicts with "alice":\n'
                                    "- .data.a\n- .data.b")


def test_force_takes_ownership_of_conflicting_fields() -> None:
    live, _ = server_side_apply(None, a_configmap(a="1", b="2"), "alice")
    merged, managed = server_side_apply(live, a_configmap(a="9"), "bob", force=True)
    assert merged["data"] == {"a": "9", "b": "2"}
    assert fields_of(managed, "alice") == {"f:data": {"f:b": {}}}
    assert fields_of(managed, "bob") == {"f:data": {"f:a": {}}}


def test_applying_the_same_value_shares_ownership_without_conflict() -> None:
    live, _ = server_side_apply(None, a_configmap(a="1", b="2"), "alice")
    merged, managed = server_side_apply(live, a_configmap(a="1"), "bob")
    assert merged["data"] == {"a": "1", "b": "2"}
    assert fields_of(managed, "alice") == {"f:data": {"f:a": {}, "f:b": {}}}
    assert fields_of(managed, "bob") == {"f:data": {"f:a": {}}}


def test_a_field_a_manager_stops_applying_is_removed() -> None:
    live, _ = server_side_apply(None, a_configmap(a="1", b="2"), "alice")
    merged, managed = server_side_apply(live, a_configmap(a="1"), "alice")
    assert merged["data"] == {"a": "1"}
    assert fields_of(managed, "alice") == {"f:data": {"f:a": {}}}


def test_a_shared_field_survives_until_its_last_owner_stops_applying_it() -> None:
    live, _ = server_side_apply(None, a_configmap(a="1", b="2"), "alice")
    live, _ = server_side_apply(live, a_configmap(b="2"), "bob")
    live, managed = server_side_apply(live, a_configmap(a="1"), "alice")
    assert live["data"] == {"a": "1", "b": "2"}, "bob still owns b"
    live, managed = server_side_apply(live, a_configmap(), "bob")
    assert live["data"] == {"a": "1"}
    assert [e["manager"] for e in managed] == ["alice"]


def test_a_container_a_manager_stops_applying_is_removed_but_others_stay() -> None:
    sidecar = {"name": "log", "image": "busybox"}
    live, _ = server_side_apply(None, a_deployment(1, sidecar), "kubectl")
    edited = copy.deepcopy(live)
    edited["spec"]["template"]["spec"]["containers"].append({"name": "debug", "image": "x"})
    edited["metadata"]["managedFields"] = update_managed_fields(live, edited, "kubectl-edit")
    merged, _ = server_side_apply(edited, a_deployment(1), "kubectl")
    names = [c["name"] for c in merged["spec"]["template"]["spec"]["containers"]]
    assert names == ["web", "debug"]


def test_an_update_takes_ownership_and_a_later_apply_conflicts_with_it() -> None:
    live, _ = server_side_apply(None, a_deployment(1), "kubectl", now=T0)
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 3
    managed = update_managed_fields(live, scaled, "kubectl-scale", now=T1)
    assert [(e["manager"], e["operation"], e["time"]) for e in managed] == [
        ("kubectl", "Apply", "2024-05-01T12:00:00Z"),
        ("kubectl-scale", "Update", "2024-05-01T12:05:00Z")]
    assert fields_of(managed, "kubectl-scale") == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in fields_of(managed, "kubectl")["f:spec"]
    scaled["metadata"]["managedFields"] = managed
    with pytest.raises(APIStatusError) as raised:
        server_side_apply(scaled, a_deployment(1), "kubectl")
    assert raised.value.message == ('Apply failed with 1 conflict: conflict with '
                                    '"kubectl-scale" using apps/v1: .spec.replicas')


def test_an_update_on_create_owns_new_maps_with_a_dot() -> None:
    cm = a_configmap(a="1")
    cm["metadata"]["labels"] = {"app": "web"}
    managed = update_managed_fields(None, cm, "kubectl-create", now=T0)
    assert managed == [{"manager": "kubectl-create", "operation": "Update", "apiVersion": "v1",
                        "time": "2024-05-01T12:00:00Z", "fieldsType": "FieldsV1",
                        "fieldsV1": {"f:data": {".": {}, "f:a": {}},
                                     "f:metadata": {"f:labels": {".": {}, "f:app": {}}}}}]


def test_an_update_that_removes_a_field_takes_it_from_every_manager() -> None:
    live, _ = server_side_apply(None, a_configmap(a="1", b="2"), "alice")
    edited = copy.deepcopy(live)
    del edited["data"]["b"]
    managed = update_managed_fields(live, edited, "editor")
    assert fields_of(managed, "alice") == {"f:data": {"f:a": {}}}
    assert [e["manager"] for e in managed] == ["alice"], "a no-op owner is not recorded"


def test_an_empty_entry_in_the_request_resets_managed_fields() -> None:
    live, _ = server_side_apply(None, a_configmap(a="1"), "alice")
    edited = copy.deepcopy(live)
    edited["data"]["b"] = "2"
    edited["metadata"]["managedFields"] = [{}]
    managed = update_managed_fields(live, edited, "editor")
    assert [e["manager"] for e in managed] == ["editor"]


def test_objects_written_before_ownership_belong_to_before_first_apply() -> None:
    legacy = a_configmap(a="1")
    with pytest.raises(APIStatusError) as raised:
        server_side_apply(legacy, a_configmap(a="2"), "kubectl")
    assert raised.value.message == ('Apply failed with 1 conflict: conflict with '
                                    '"before-first-apply" using v1: .data.a')


@pytest.mark.parametrize(
    ("applied", "manager", "message"),
    [
        pytest.param({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cfg"}},
                     "kubectl", 'apiVersion/kind: the applied configuration says "v1, Secret"',
                     id="an applied object of another kind is refused"),
        pytest.param({**a_configmap(), "metadata": {"name": "cfg", "managedFields": []}},
                     "kubectl", "metadata.managedFields must be nil",
                     id="applied managedFields are refused"),
        pytest.param(a_configmap(), "", "fieldManager: Required value",
                     id="apply needs a field manager"),
        pytest.param(["not", "an", "object"], "kubectl", "apply patch must be",
                     id="the body must be an object"),
    ],
)
def test_bad_apply_requests_are_400(applied: Any, manager: str, message: str) -> None:
    with pytest.raises(APIStatusError) as raised:
        server_side_apply(None, applied, manager, gvk=GVK("", "v1", "ConfigMap"))
    assert raised.value.code == 400
    assert raised.value.message.startswith(message)


def test_lists_merge_by_their_map_keys() -> None:
    live, _ = server_side_apply(None, a_deployment(1), "kubectl")
    sidecar = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"template": {"spec": {"containers": [
                   {"name": "web", "ports": [{"containerPort": 9090, "protocol": "TCP"}]},
                   {"name": "log", "image": "busybox"}]}}}}
    merged, managed = server_side_apply(live, sidecar, "metrics")
    containers = merged["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "log"]
    assert containers[0]["image"] == "nginx"
    assert [p["containerPort"] for p in containers[0]["ports"]] == [80, 9090]
    assert fields_of(managed, "metrics") == {"f:spec": {"f:template": {"f:spec": {
        "f:containers": {
            'k:{"name":"log"}': {".": {}, "f:image": {}, "f:name": {}},
            'k:{"name":"web"}': {".": {}, "f:name": {}, "f:ports": {
                'k:{"containerPort":9090,"protocol":"TCP"}': {
                    ".": {}, "f:containerPort": {}, "f:protocol": {}}}}}}}}}


def test_reset_fields_are_neither_applied_nor_owned() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "x"}]},
           "status": {"phase": "Running"}}
    merged, managed = server_side_apply(None, pod, "kubectl", ignored_fields=("status",))
    assert "status" not in merged
    assert "f:status" not in fields_of(managed, "kubectl")


def test_status_writers_are_recorded_with_their_subresource() -> None:
    live, _ = server_side_apply(None, a_configmap(a="1"), "alice")
    edited = copy.deepcopy(live)
    edited["data"]["a"] = "2"
    managed = update_managed_fields(live, edited, "kubelet", subresource="status")
    assert [(e["manager"], e.get("subresource")) for e in managed] == [
        ("kubelet", "status")]
    edited["metadata"]["managedFields"] = managed
    with pytest.raises(APIStatusError) as raised:
        server_side_apply(edited, a_configmap(a="3"), "alice")
    assert 'conflict with "kubelet" with subresource "status" using v1: .data.a' in \
        raised.value.message


def test_the_configmap_example_of_the_server_side_apply_docs() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "test-cm", "namespace": "default",
                           "labels": {"test-label": "test"}},
              "data": {"key": "some value"}}
    _, managed = server_side_apply(None, config, "kubectl")
    assert fields_of(managed, "kubectl") == {
        "f:data": {"f:key": {}}, "f:metadata": {"f:labels": {"f:test-label": {}}}}


def test_handing_replicas_over_to_another_manager_keeps_the_value() -> None:
    live, _ = server_side_apply(None, a_deployment(3), "kubectl")
    handover = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"replicas": 3}}
    live, _ = server_side_apply(live, handover, "handover-to-hpa")
    without_replicas = a_deployment(3)
    del without_replicas["spec"]["replicas"]
    merged, managed = server_side_apply(live, without_replicas, "kubectl")
    assert merged["spec"]["replicas"] == 3
    assert fields_of(managed, "handover-to-hpa") == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in fields_of(managed, "kubectl")["f:spec"]


def test_duplicate_list_keys_in_an_applied_configuration_are_refused() -> None:
    twice = a_deployment(1, {"name": "web", "image": "other"})
    with pytest.raises(APIStatusError) as raised:
        server_side_apply(None, twice, "kubectl")
    assert raised.value.code == 400
    assert raised.value.message.startswith(
        '.spec.template.spec.containers: duplicate entries for key [name="web"]')
