"""Strategic merge patch: every directive, driven by the real merge keys of built-in kinds.

Expected results follow the upstream design docs (kubernetes/community strategic-merge-patch.md
and preserve-order-in-strategic-merge-patch.md) and the order rules of upstream's merge code.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kubeadmpy.machinery.patch import apply_strategic_merge_patch
from kubeadmpy.machinery.schema import GVK
from kubeadmpy.machinery.status import APIStatusError

POD = GVK("", "v1", "Pod")
DEPLOYMENT = GVK("apps", "v1", "Deployment")


def pod_with(spec: dict[str, Any], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata or {"name": "p"},
            "spec": spec}


def containers(*names_and_images: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "image": i} for n, i in names_and_images]


def env(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in pairs]


CASES = [
    pytest.param(
        pod_with({"containers": containers(("a", "nginx:1"), ("b", "redis"))}),
        {"spec": {"containers": [{"name": "a", "image": "nginx:2"}]}},
        pod_with({"containers": containers(("a", "nginx:2"), ("b", "redis"))}),
        id="containers merge by name and keep their live order"),
    pytest.param(
        pod_with({"containers": containers(("a", "nginx"))}),
        {"spec": {"containers": [{"name": "log", "image": "tail"}]}},
        pod_with({"containers": containers(("log", "tail"), ("a", "nginx"))}),
        id="a new container is added, patch items ahead of server-only ones"),
    pytest.param(
        pod_with({"containers": containers(("a", "nginx"), ("log", "tail"))}),
        {"spec": {"containers": [{"$patch": "delete", "name": "log"}]}},
        pod_with({"containers": containers(("a", "nginx"))}),
        id="$patch delete removes the list item with that merge key"),
    pytest.param(
        pod_with({"containers": containers(("a", "nginx"), ("b", "redis"))}),
        {"spec": {"containers": [{"name": "c", "image": "x"}, {"$patch": "replace"}]}},
        pod_with({"containers": containers(("c", "x"))}),
        id="$patch replace as a list element replaces the whole list"),
    pytest.param(
        pod_with({"containers": [{"name": "a", "image": "nginx", "workingDir": "/w"}]}),
        {"spec": {"containers": [{"name": "a", "$patch": "replace", "image": "busybox"}]}},
        pod_with({"containers": []}),
        id="an item carrying $patch replace replaces the list and is itself dropped"),
    pytest.param(
        pod_with({"containers": containers(("a", "nginx")), "nodeSelector": {"a": "1"}}),
        {"spec": {"nodeSelector": {"$patch": "replace", "b": "2"}}},
        pod_with({"containers": containers(("a", "nginx")), "nodeSelector": {"b": "2"}}),
        id="$patch replace on a map takes the patch literally"),
    pytest.param(
        pod_with({"containers": containers(("a", "nginx")),
                  "securityContext": {"runAsUser": 1}}),
        {"spec": {"securityContext": {"$patch": "delete"}}},
        pod_with({"containers": containers(("a", "nginx")), "securityContext": {}}),
        id="$patch delete on a map leaves an empty map, as upstream's merge does"),
    pytest.param(
        pod_with({"containers": containers(("a", "nginx")), "hostname": "h"}),
        {"spec": {"hostname": None}},
        pod_with({"containers": containers(("a", "nginx"))}),
        id="null deletes a field"),
    pytest.param(
        pod_with({"containers": [{"name": "a", "image": "i", "args": ["x", "y"]}]}),
        {"spec": {"containers": [{"name": "a", "args": ["z"]}]}},
        pod_with({"containers": [{"name": "a", "image": "i", "args": ["z"]}]}),
        id="lists without the merge strategy are replaced"),
    pytest.param(
        pod_with({"containers": [{"name": "a", "image": "i",
                                  "ports": [{"containerPort": 80}, {"containerPort": 443}]}]}),
        {"spec": {"containers": [{"name": "a",
                                  "ports": [{"containerPort": 80, "name": "http"}]}]}},
        pod_with({"containers": [{"name": "a", "image": "i", "ports": [
            {"containerPort": 80, "name": "http"}, {"containerPort": 443}]}]}),
        id="container ports merge by containerPort"),
    pytest.param(
        pod_with({"containers": [{"name": "a", "image": "i", "env": env(
            ("ENV2", "bar"), ("ENV5", "server-added-2"), ("ENV1", "foo"), ("ENV3", "baz"),
            ("ENV4", "server-added-1"))}]}),
        {"spec": {"containers": [{"name": "a",
                                  "$setElementOrder/env": [{"name": "ENV1"}, {"name": "ENV2"},
                                                           {"name": "ENV6"}],
                                  "env": [{"name": "ENV3", "$patch": "delete"},
                                          {"name": "ENV6", "value": "new-env"}]}]}},
        pod_with({"containers": [{"name": "a", "image": "i", "env": env(
            ("ENV5", "server-added-2"), ("ENV1", "foo"), ("ENV2", "bar"), ("ENV6", "new-env"),
            ("ENV4", "server-added-1"))}]}),
        id="$setElementOrder orders patched items; server-only items keep live positions"),
    pytest.param(
        pod_with({"containers": containers(("a", "1"), ("b", "2"))}),
        {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}},
        pod_with({"containers": containers(("b", "2"), ("a", "1"))}),
        id="$setElementOrder alone reorders a list"),
    pytest.param(
        pod_with({"containers": containers(("c", "3"), ("b", "2"), ("d", "4"), ("a", "1"),
                                           ("e", "5"))}),
        {"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                  "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}},
        pod_with({"containers": containers(("c", "3"), ("d", "4"), ("a", "1"), ("b", "2"),
                                           ("e", "5"))}),
        id="items missing from $setElementOrder interleave by their live position"),
    pytest.param(
        pod_with({"containers": containers(("hello2", "x"))}),
        {"spec": {"$setElementOrder/containers": [{"name": "hello"}, {"name": "doesntexist"}],
                  "containers": [{"name": "hello", "image": "y"}]}},
        pod_with({"containers": containers(("hello", "y"), ("hello2", "x"))}),
        id="$setElementOrder may name items that exist nowhere (upstream fixture)"),
    pytest.param(
        pod_with({"containers": []}),
        {"spec": {"containers": [{"name": "hello", "image": "y"},
                                 {"$patch": "delete", "name": "doesntexist"}]}},
        pod_with({"containers": containers(("hello", "y"))}),
        id="deleting an item that is not there is harmless (upstream fixture)"),
]


@pytest.mark.parametrize(("live", "patch", "expected"), CASES)
def test_pod_patches(live: dict[str, Any], patch: dict[str, Any],
                     expected: dict[str, Any]) -> None:
    before = copy.deepcopy(live)
    assert apply_strategic_merge_patch(live, patch, POD) == expected
    assert live == before, "the live object is never changed"


@pytest.mark.parametrize(
    ("live", "patch", "expected"),
    [
        pytest.param(["a", "b"], {"finalizers": ["b", "c"]}, ["a", "b", "c"],
                     id="merge-strategy primitive lists are unions without duplicates"),
        pytest.param(["a", "b", "c"], {"$deleteFromPrimitiveList/finalizers": ["b", "c"]},
                     ["a"], id="$deleteFromPrimitiveList removes values"),
        pytest.param(["a", "b", "c"], {"$setElementOrder/finalizers": ["b", "c", "a"]},
                     ["b", "c", "a"], id="$setElementOrder reorders primitives"),
        pytest.param(["1", "2", "4"],
                     {"$setElementOrder/finalizers": ["1", "2", "3"], "finalizers": ["3"]},
                     ["1", "2", "3", "4"],
                     id="an added value lands where $setElementOrder puts it (upstream fixture)"),
        pytest.param(["1", "2", "3", "3", "4"],
                     {"$setElementOrder/finalizers": ["1", "2"],
                      "$deleteFromPrimitiveList/finalizers": ["3"]},
                     ["1", "2", "4"], id="deleting a value deletes all its duplicates"),
        pytest.param(["1", "2", "3"],
                     {"$setElementOrder/finalizers": ["2", "1"],
                      "$deleteFromPrimitiveList/finalizers": ["3"]},
                     ["2", "1"], id="delete and reorder in one patch (upstream fixture)"),
        pytest.param(["b", "e", "a", "c", "d"],
                     {"$setElementOrder/finalizers": ["a", "b", "f"],
                      "$deleteFromPrimitiveList/finalizers": ["c"], "finalizers": ["f"]},
                     ["e", "a", "b", "f", "d"],
                     id="kubectl apply's finalizer patch: add, delete and order together"),
    ],
)
def test_finalizers(live: list[str], patch: dict[str, Any], expected: list[str]) -> None:
    pod = pod_with({"containers": []}, {"name": "p", "finalizers": live})
    patched = apply_strategic_merge_patch(pod, {"metadata": patch}, POD)
    assert patched["metadata"]["finalizers"] == expected


def a_deployment() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 1,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                     "template": {"spec": {"containers": containers(("a", "nginx:1"),
                                                                    ("b", "busybox"))}}}}


def test_retain_keys_clears_fields_the_patch_does_not_list() -> None:
    patched = apply_strategic_merge_patch(
        a_deployment(), {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        DEPLOYMENT)
    assert patched["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_must_list_every_field_the_patch_sets() -> None:
    with pytest.raises(APIStatusError) as raised:
        apply_strategic_merge_patch(
            a_deployment(), {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate",
                                                   "rollingUpdate": {"maxSurge": 2}}}},
            DEPLOYMENT)
    assert raised.value.code == 400
    assert 'field "rollingUpdate" is in the patch but not in $retainKeys' in raised.value.message


def test_the_three_way_patch_of_client_side_apply() -> None:
    last_applied = json.dumps({"spec": {"replicas": 3}})
    patch = {"metadata": {"annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": last_applied}},
        "spec": {"replicas": 3, "template": {"spec": {
            "$setElementOrder/containers": [{"name": "a"}],
            "containers": [{"image": "nginx:2", "name": "a"},
                           {"$patch": "delete", "name": "b"}]}}}}
    patched = apply_strategic_merge_patch(a_deployment(), patch, DEPLOYMENT)
    assert patched["spec"]["replicas"] == 3
    assert patched["spec"]["template"]["spec"]["containers"] == containers(("a", "nginx:2"))
    assert patched["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/last-applied-configuration": last_applied}
    assert patched["spec"]["strategy"] == a_deployment()["spec"]["strategy"]


def test_cordon_and_uncordon_patch_a_node() -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "spec": {}}
    gvk = GVK("", "v1", "Node")
    cordoned = apply_strategic_merge_patch(node, {"spec": {"unschedulable": True}}, gvk)
    assert cordoned["spec"] == {"unschedulable": True}
    assert apply_strategic_merge_patch(cordoned, {"spec": {"unschedulable": None}},
                                       gvk)["spec"] == {}


def test_rollout_restart_adds_a_template_annotation() -> None:
    patch = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z"}}}}}
    patched = apply_strategic_merge_patch(a_deployment(), patch, DEPLOYMENT)
    assert patched["spec"]["template"]["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z"}
    assert len(patched["spec"]["template"]["spec"]["containers"]) == 2


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        pytest.param({"spec": {"containers": [{"image": "x"}]}},
                     'spec.containers: map: {"image": "x"} does not contain declared merge key: '
                     "name", id="an item without its merge key is refused"),
        pytest.param({"spec": {"containers": [{"$patch": "delete"}]}},
                     'spec.containers: map: {"$patch": "delete"} does not contain declared '
                     "merge key: name", id="a delete without the merge key is refused"),
        pytest.param({"spec": {"securityContext": {"$patch": "remove"}}},
                     'spec.securityContext: unknown $patch directive "remove"',
                     id="an unknown map directive is refused"),
        pytest.param({"spec": {"containers": [{"name": "a", "$patch": "explode"}]}},
                     'spec.containers: unsupported $patch "explode" in a list element',
                     id="an unknown list directive is refused"),
        pytest.param({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                               "containers": [{"name": "b"}, {"name": "a"}]}},
                     "spec.containers: the order in the patch list",
                     id="a patch list out of $setElementOrder's order is refused"),
        pytest.param({"spec": {"$retainKeys": "containers"}},
                     "spec: $retainKeys must be a list of field names",
                     id="retainKeys must be a list"),
    ],
)
def test_malformed_patches_are_bad_requests(patch: dict[str, Any], message: str) -> None:
    pod = pod_with({"containers": containers(("a", "nginx"))})
    with pytest.raises(APIStatusError) as raised:
        apply_strategic_merge_patch(pod, patch, POD)
    assert raised.value.code == 400
    assert raised.value.message.startswith(message)


def test_kinds_without_a_schema_cannot_take_a_strategic_merge_patch() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {}}
    with pytest.raises(APIStatusError) as raised:
        apply_strategic_merge_patch(widget, {"spec": {"a": 1}})
    assert raised.value.code == 415
    assert raised.value.reason == "UnsupportedMediaType"


def test_the_kubectl_patch_docs_deployment_examples() -> None:
    """From "Update API Objects in Place Using kubectl patch": containers merge by name,
    tolerations (no patch strategy) are replaced, and a JSON merge patch would replace both."""
    live = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "patch-demo"},
            "spec": {"replicas": 2, "template": {"spec": {
                "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                "tolerations": [{"effect": "NoSchedule", "key": "dedicated",
                                 "value": "test-team"}]}}}}
    patch = {"spec": {"template": {"spec": {
        "containers": [{"name": "patch-demo-ctr-2", "image": "redis"}],
        "tolerations": [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]}}}}
    pod_spec = apply_strategic_merge_patch(live, patch, DEPLOYMENT)["spec"]["template"]["spec"]
    assert sorted(c["name"] for c in pod_spec["containers"]) == [
        "patch-demo-ctr", "patch-demo-ctr-2"]
    assert pod_spec["tolerations"] == [{"effect": "NoSchedule", "key": "disktype",
                                        "value": "ssd"}]


def test_retain_keys_inside_a_merged_list_item_switches_a_volume_source() -> None:
    live = pod_with({"containers": containers(("a", "nginx")),
                     "volumes": [{"name": "data", "hostPath": {"path": "/srv"}},
                                 {"name": "cache", "emptyDir": {}}]})
    patch = {"spec": {"volumes": [{"$retainKeys": ["emptyDir", "name"], "name": "data",
                                   "emptyDir": {"medium": "Memory"}}]}}
    volumes = apply_strategic_merge_patch(live, patch, POD)["spec"]["volumes"]
    assert volumes == [{"name": "data", "emptyDir": {"medium": "Memory"}},
                       {"name": "cache", "emptyDir": {}}]
