"""Through the real server: bodies upstream accepts are stored even where OpenAPI lists more
`required` fields (a kubelet's partial node status, a controller's status), and the fields
upstream does require are refused with 422 naming the field, also for kubectl."""

from __future__ import annotations

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
