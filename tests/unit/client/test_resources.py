"""Resource names resolve to the right URLs without a round trip for built-in kinds."""

from __future__ import annotations

import pytest

from kubeadmpy.client.resources import builtin_lookup


@pytest.mark.parametrize(("ref", "qualified"), [
    ("pods", "pods"), ("pod", "pods"), ("po", "pods"), ("Pod", "pods"),
    ("deployments.apps", "deployments.apps"), ("Deployment", "deployments.apps"),
    ("apps/v1/Deployment", "deployments.apps"), ("coordination.k8s.io/v1/leases",
                                                 "leases.coordination.k8s.io"),
    ("events", "events"), ("events.events.k8s.io", "events.events.k8s.io"),
    ("csr", "certificatesigningrequests.certificates.k8s.io"),
])
def test_builtin_names_resolve(ref: str, qualified: str) -> None:
    info = builtin_lookup(ref)
    assert info is not None and info.qualified == qualified


def test_unknown_names_need_discovery() -> None:
    assert builtin_lookup("widgets.example.com") is None


@pytest.mark.parametrize(("ref", "namespace", "name", "sub", "path"), [
    ("pods", "default", "web", "", "/api/v1/namespaces/default/pods/web"),
    ("pods", "default", "web", "binding", "/api/v1/namespaces/default/pods/web/binding"),
    ("nodes", "ignored", "n1", "status", "/api/v1/nodes/n1/status"),
    ("deployments", "kube-system", "d", "scale",
     "/apis/apps/v1/namespaces/kube-system/deployments/d/scale"),
], ids=["namespaced object", "subresource", "cluster-scoped ignores namespace",
        "group resource"])
def test_object_paths(ref: str, namespace: str, name: str, sub: str, path: str) -> None:
    info = builtin_lookup(ref)
    assert info is not None
    assert info.object_path(name, namespace, sub) == path


def test_all_namespaces_collection_path() -> None:
    info = builtin_lookup("pods")
    assert info is not None and info.collection_path(None) == "/api/v1/pods"
