"""Only the fields upstream's validation requires are required: real bodies that kubelets,
controllers and kubectl send pass even where OpenAPI lists more `required` fields."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.machinery.schema import validate
from kubeadmpy.machinery.status import Cause

REQUIRED = "FieldValueRequired"


def a_node_registered_by_a_kubelet() -> dict[str, Any]:
    # nodeInfo without bootID/kubeProxyVersion/systemUUID, addresses and conditions partial.
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
            "spec": {"podCIDR": "10.244.0.0/24"},
            "status": {"nodeInfo": {"kubeletVersion": "v1.33.0", "operatingSystem": "linux",
                                    "architecture": "amd64"},
                       "addresses": [{"type": "Hostname", "address": "n1"}],
                       "conditions": [{"type": "Ready", "status": "False"}],
                       "capacity": {"cpu": "2", "memory": "1Gi", "pods": "110"}}}


def a_pod_status_from_a_kubelet() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "d"},
            "spec": {"containers": [{"name": "web", "image": "busybox"}]},
            "status": {"phase": "Pending",
                       "containerStatuses": [{"name": "web", "image": "busybox",
                                              "state": {"waiting": {"reason": "ContainerCreating"}}}],
                       "conditions": [{"type": "PodScheduled", "status": "True"}]}}


ACCEPTED = [
    pytest.param(a_node_registered_by_a_kubelet(),
                 id="a node a kubelet registers with partial nodeInfo is accepted"),
    pytest.param(a_pod_status_from_a_kubelet(),
                 id="a container status without ready, restartCount or imageID is accepted"),
    pytest.param({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                  "metadata": {"creationTimestamp": None},
                  "spec": {"audiences": None, "expirationSeconds": None,
                           "boundObjectRef": None},
                  "status": {"token": "", "expirationTimestamp": None}},
                 id="kubectl 1.27's token request with nulls is accepted"),
    pytest.param({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                  "metadata": {"name": "zero"}},
                 id="a priority class without a value is accepted (value 0)"),
    pytest.param({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                  "metadata": {"name": "web-abc"}, "addressType": "IPv4", "endpoints": None},
                 id="an endpoint slice a controller writes with no endpoints is accepted"),
    pytest.param({"apiVersion": "storage.k8s.io/v1", "kind": "CSINode",
                  "metadata": {"name": "n1"}, "spec": {"drivers": []}},
                 id="a CSINode a kubelet creates without drivers is accepted"),
    pytest.param({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
                  "spec": {"selector": {"matchLabels": {"a": "b"}}, "replicas": 0},
                  "status": {}},
                 id="a replica set status without replicas is accepted"),
    pytest.param({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                  "metadata": {"name": "deny"}, "spec": {"policyTypes": ["Ingress"]}},
                 id="a network policy without podSelector selects every pod"),
]


@pytest.mark.parametrize("obj", ACCEPTED)
def test_bodies_upstream_accepts_have_no_causes(obj: dict[str, Any]) -> None:
    assert validate(obj) == []


def _missing(path: str) -> list[Cause]:
    return [Cause(REQUIRED, "Required value", path)]


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}},
                 _missing("spec.containers"), id="a pod without containers is refused"),
    pytest.param({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                  "metadata": {"name": "e"}, "endpoints": [{"addresses": []}]},
                 _missing("endpoints[0].addresses") + _missing("addressType"),
                 id="an endpoint slice without addressType or addresses is refused"),
    pytest.param({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                  "metadata": {"name": "r"}, "rules": [{"resources": ["pods"], "verbs": []}]},
                 _missing("rules[0].verbs"), id="a policy rule without verbs is refused"),
    pytest.param({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                  "metadata": {"name": "b"},
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                              "name": "r"},
                  "subjects": [{"kind": "User"}]},
                 _missing("subjects[0].name"), id="a subject without a name is refused"),
    pytest.param({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "c", "ownerReferences": [
                      {"apiVersion": "v1", "kind": "Pod", "name": "p"}]}},
                 _missing("metadata.ownerReferences[0].uid"),
                 id="an owner reference without a uid is refused"),
])
def test_fields_upstream_requires_are_refused_when_missing(
        obj: dict[str, Any], expected: list[Cause]) -> None:
    assert validate(obj) == expected

