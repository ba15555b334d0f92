"""Through the real server: bodies upstream accepts are stored even where OpenAPI lists more
`required` fields (a kubelet's partial node status, a controller's status), and the fields
upstream does require are refused with 422 naming the field, also for kubectl."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from apiserver_harness import Cluster

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def http(cluster: Cluster) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(ssl=cluster.ssl_context())
    async with aiohttp.ClientSession(cluster.apiserver.url, connector=connector) as session:
        yield session


async def post(http: aiohttp.ClientSession, path: str, body: dict[str, Any]
               ) -> tuple[int, Any]:
    async with http.post(path, data=json.dumps(body), headers=JSON) as response:
        return response.status, await response.json()


async def test_a_node_registered_with_partial_node_info_is_stored(
        http: aiohttp.ClientSession) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "partial-info-node"},
            "status": {"nodeInfo": {"kubeletVersion": "v1.33.0", "architecture": "amd64"},
                       "conditions": [{"type": "Ready", "status": "Unknown"}]}}
    code, body = await post(http, "/api/v1/nodes", node)
    assert code == 201, body
    assert body["status"]["nodeInfo"]["kubeletVersion"] == "v1.33.0"


async def test_a_replica_set_status_without_replicas_is_accepted(
        http: aiohttp.ClientSession) -> None:
    await post(http, "/api/v1/namespaces", {"metadata": {"name": "uv-rs"}})
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
          "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                   "template": {"metadata": {"labels": {"app": "web"}},
                                "spec": {"containers": [{"name": "w", "image": "busybox"}]}}}}
    code, body = await post(http, "/apis/apps/v1/namespaces/uv-rs/replicasets", rs)
    assert code == 201, body


async def test_a_policy_rule_without_verbs_is_invalid(http: aiohttp.ClientSession) -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "uv-no-verbs"}, "rules": [{"resources": ["pods"],
                                                           "apiGroups": [""]}]}
    code, body = await post(http, "/apis/rbac.authorization.k8s.io/v1/clusterroles", role)
    assert code == 422, body
    assert body["details"]["causes"][0]["field"] == "rules[0].verbs"


def test_kubectl_names_the_missing_image(cluster: Cluster, kubectl_version: str) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "no-image",
                                                           "namespace": "default"},
           "spec": {"containers": [{"name": "c"}]}}
    result = cluster.kubectl(kubectl_version, "create", "-f", "-", stdin=json.dumps(pod),
                             check=False)
    assert result.returncode != 0
    assert "spec.containers[0].image: Required value" in result.stderr


async def test_a_csr_records_the_requester_not_what_the_body_claims(
        cluster: Cluster, http: aiohttp.ClientSession) -> None:
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "uv-alice-bootstrapper"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "system:node-bootstrapper"},
               "subjects": [{"kind": "User", "name": "alice",
                             "apiGroup": "rbac.authorization.k8s.io"}]}
    code, body = await post(http, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                            binding)
    assert code == 201, body
    csr = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
           "metadata": {"name": "uv-csr"},
           "spec": {"request": "LS0tLS1CRUdJTg==", "signerName": "example.com/any",
                    "usages": ["client auth"], "username": "system:admin",
                    "groups": ["system:masters"], "uid": "forged",
                    "extra": {"scopes": ["all"]}}}
    connector = aiohttp.TCPConnector(ssl=cluster.ssl_context("alice", ("devs",)))
    async with aiohttp.ClientSession(cluster.apiserver.url, connector=connector) as alice:
        for _ in range(50):  # the binding reaches the authorizer through a watch
            status, body = await post(alice, "/apis/certificates.k8s.io/v1/"
                                             "certificatesigningrequests", csr)
            if status != 403:
                break
            await asyncio.sleep(0.1)
    assert status == 201, body
    assert body["spec"]["username"] == "alice"
    assert body["spec"]["groups"] == ["devs", "system:authenticated"]
    assert "uid" not in body["spec"] and "extra" not in body["spec"]
