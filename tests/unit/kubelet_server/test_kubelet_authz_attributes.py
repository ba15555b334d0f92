"""Which SubjectAccessReview a kubelet API request becomes, and what a client certificate
says about its user."""

from __future__ import annotations

import pytest

from kubeadmpy.kubelet.server.auth import request_attributes, user_from_certificate


@pytest.mark.parametrize(("method", "path", "verb", "subresource"), [
    pytest.param("GET", "/containerLogs/ns/pod/c", "get", "proxy", id="container logs are proxy"),
    pytest.param("POST", "/exec/ns/pod/c", "create", "proxy", id="exec by POST is create proxy"),
    pytest.param("GET", "/exec/ns/pod/c", "get", "proxy", id="exec by websocket GET is get proxy"),
    pytest.param("GET", "/stats/summary", "get", "stats", id="stats"),
    pytest.param("GET", "/metrics/cadvisor", "get", "metrics", id="metrics"),
    pytest.param("GET", "/logs/syslog", "get", "log", id="node logs are log"),
    pytest.param("GET", "/spec/", "get", "spec", id="spec"),
    pytest.param("GET", "/pods", "get", "proxy", id="the pod list is proxy"),
    pytest.param("DELETE", "/statsfoo", "delete", "proxy", id="a prefix must end at a slash"),
])
def test_requests_map_to_node_subresources(method: str, path: str, verb: str,
                                           subresource: str) -> None:
    assert request_attributes(method, path, "node1") == {
        "verb": verb, "group": "", "version": "v1", "resource": "nodes",
        "subresource": subresource, "name": "node1"}


def test_a_certificate_names_the_user_and_its_groups() -> None:
    peer = {"subject": ((("organizationName", "system:masters"),),
                        (("commonName", "kube-apiserver-kubelet-client"),))}
    user = user_from_certificate(peer)
    assert user is not None
    assert user.name == "kube-apiserver-kubelet-client"
    assert user.groups == ("system:masters", "system:authenticated")
    assert user_from_certificate(None) is None
    assert user_from_certificate({}) is None
