"""Admission as upstream's defaults have it, through the real server: DefaultTolerationSeconds,
Priority with PriorityClass objects (the built-in system classes, a named class, the global
default) and scheduling gates that may only be removed."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from apiserver_harness import Cluster

JSON = {"Content-Type": "application/json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
_names = itertools.count()


@pytest.fixture
async def http(cluster: Cluster) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(ssl=cluster.ssl_context())
    async with aiohttp.ClientSession(cluster.apiserver.url, connector=connector) as session:
        yield session


@pytest.fixture
async def ns(http: aiohttp.ClientSession) -> str:
    name = f"adm{next(_names)}"
    code, body = await call(http, "POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    assert code == 201, body
    return name


async def call(http: aiohttp.ClientSession, method: str, path: str, body: Any,
               headers: dict[str, str] = JSON) -> tuple[int, Any]:
    async with http.request(method, path, data=json.dumps(body), headers=headers) as response:
        return response.status, await response.json()


def a_pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


async def create_pod_once_classes_are_seen(http: aiohttp.ClientSession, ns: str,
                                           pod: dict[str, Any]) -> tuple[int, Any]:
    """Priority admission reads classes from a watch cache, as upstream's from an informer."""
    for _ in range(50):
        code, body = await call(http, "POST", f"/api/v1/namespaces/{ns}/pods", pod)
        if code != 403 or "PriorityClass" not in body.get("message", ""):
            return code, body
        await asyncio.sleep(0.1)
    return code, body


async def test_a_new_pod_tolerates_not_ready_and_unreachable_nodes_for_300_seconds(
        http: aiohttp.ClientSession, ns: str) -> None:
    code, pod = await call(http, "POST", f"/api/v1/namespaces/{ns}/pods", a_pod("plain"))
    assert code == 201, pod
    assert pod["spec"]["tolerations"] == [
        {"key": f"node.kubernetes.io/{key}", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300} for key in ("not-ready", "unreachable")]


def test_kubectl_lists_the_built_in_priority_classes(cluster: Cluster,
                                                     kubectl_version: str) -> None:
    out = cluster.kubectl(kubectl_version, "get", "priorityclasses").stdout
    assert "system-node-critical" in out and "2000001000" in out
    assert "system-cluster-critical" in out and "2000000000" in out


async def test_a_pod_of_a_system_class_gets_its_priority(http: aiohttp.ClientSession,
                                                         ns: str) -> None:
    code, pod = await call(http, "POST", f"/api/v1/namespaces/{ns}/pods",
                           a_pod("critical", priorityClassName="system-node-critical"))
    assert code == 201, pod
    assert (pod["spec"]["priority"], pod["spec"]["preemptionPolicy"]) == (
        2000001000, "PreemptLowerPriority")


async def test_a_named_class_gives_its_value_and_an_unknown_class_is_refused(
        http: aiohttp.ClientSession, ns: str) -> None:
    pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
          "metadata": {"name": f"{ns}-high"}, "value": 1000, "preemptionPolicy": "Never"}
    code, body = await call(http, "POST", "/apis/scheduling.k8s.io/v1/priorityclasses", pc)
    assert code == 201, body
    code, pod = await create_pod_once_classes_are_seen(
        http, ns, a_pod("high", priorityClassName=f"{ns}-high"))
    assert code == 201, pod
    assert (pod["spec"]["priority"], pod["spec"]["preemptionPolicy"]) == (1000, "Never")
    code, body = await call(http, "POST", f"/api/v1/namespaces/{ns}/pods",
                            a_pod("nope", priorityClassName="no-such-class"))
    assert code == 403
    assert "no PriorityClass with name no-such-class was found" in body["message"]
    code, body = await call(http, "POST", f"/api/v1/namespaces/{ns}/pods",
                            a_pod("stated", priorityClassName=f"{ns}-high", priority=5))
    assert code == 403 and "must not be provided in pod spec" in body["message"]


@pytest.mark.parametrize(("name", "value", "field"), [
    pytest.param("system-mine", 10, "metadata.name", id="system- names are reserved"),
    pytest.param("too-high", 1_000_000_001, "value",
                 id="user classes may not exceed one billion"),
])
async def test_priority_classes_upstream_refuses(http: aiohttp.ClientSession, name: str,
                                                 value: int, field: str) -> None:
    pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
          "metadata": {"name": name}, "value": value}
    code, body = await call(http, "POST", "/apis/scheduling.k8s.io/v1/priorityclasses", pc)
    assert code == 422, body
    assert body["details"]["causes"][0]["field"] == field


async def test_the_global_default_class_applies_and_only_one_may_exist(
        own_cluster: Cluster) -> None:
    connector = aiohttp.TCPConnector(ssl=own_cluster.ssl_context())
    async with aiohttp.ClientSession(own_cluster.apiserver.url, connector=connector) as http:
        classes = "/apis/scheduling.k8s.io/v1/priorityclasses"
        default = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                   "metadata": {"name": "everyday"}, "value": 7, "globalDefault": True}
        code, body = await call(http, "POST", classes, default)
        assert code == 201, body
        for _ in range(50):
            code, body = await call(http, "POST", classes, {
                **default, "metadata": {"name": "another"}})
            if code != 201:
                break
            await call(http, "DELETE", f"{classes}/another", {})  # the cache had not seen it
            await asyncio.sleep(0.1)
        assert code == 403
        assert "PriorityClass everyday is already marked as default" in body["message"]
        code, pod = await call(http, "POST", "/api/v1/namespaces/default/pods", a_pod("p"))
        assert code == 201, pod
        assert (pod["spec"]["priority"], pod["spec"]["priorityClassName"]) == (7, "everyday")


async def test_scheduling_gates_may_be_removed_but_not_added(http: aiohttp.ClientSession,
                                                             ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/pods/gated"
    code, body = await call(http, "POST", f"/api/v1/namespaces/{ns}/pods", a_pod(
        "gated", schedulingGates=[{"name": "example.com/a"}, {"name": "example.com/b"}]))
    assert code == 201, body
    code, body = await call(http, "PATCH", path,
                            {"spec": {"schedulingGates": [{"name": "example.com/b"}]}}, MERGE)
    assert code == 200, body
    assert body["spec"]["schedulingGates"] == [{"name": "example.com/b"}]
    code, body = await call(http, "PATCH", path, {"spec": {"schedulingGates": [
        {"name": "example.com/b"}, {"name": "example.com/c"}]}}, MERGE)
    assert code == 422, body
    assert body["details"]["causes"][0] == {
        "reason": "FieldValueForbidden", "field": "spec.schedulingGates",
        "message": "Forbidden: only deletion is allowed, but found new scheduling gate "
                   "'example.com/c'"}
    code, body = await call(http, "PATCH", path, {"spec": {"schedulingGates": None}}, MERGE)
    assert code == 200, body
    assert not body["spec"].get("schedulingGates")
