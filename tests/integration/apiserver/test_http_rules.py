"""HTTP-level rules every client relies on, checked with a plain HTTP client: authentication and
the interim authorization, body limits and decoding errors, content negotiation (YAML, Table,
aggregated discovery), resourceVersion semantics of list and watch, bookmarks, dryRun,
generateName, fieldValidation and the Status errors with their reasons."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import yaml
from apiserver_harness import Cluster

_names = itertools.count()
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def http(cluster: Cluster) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(ssl=cluster.ssl_context())
    async with aiohttp.ClientSession(cluster.apiserver.url, connector=connector) as session:
        yield session


@pytest.fixture
async def ns(http: aiohttp.ClientSession) -> str:
    name = f"h{next(_names)}"
    async with http.post("/api/v1/namespaces", json={"metadata": {"name": name}}) as response:
        assert response.status == 201
    return name


async def call(http: aiohttp.ClientSession, method: str, path: str, body: Any = None,
               headers: dict[str, str] | None = None) -> tuple[int, Any, aiohttp.ClientResponse]:
    data = body if isinstance(body, bytes | str) or body is None else json.dumps(body)
    async with http.request(method, path, data=data, headers=headers or JSON) as response:
        raw = await response.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode()
        return response.status, parsed, response


def cm(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"k": "v"}, **extra}


@pytest.mark.parametrize(("path", "code"), [
    ("/healthz", 200), ("/livez", 200), ("/readyz", 200), ("/version", 200),
    ("/api", 403), ("/api/v1/namespaces", 403)], ids=lambda v: str(v))
async def test_anonymous_callers_only_reach_health_and_version(cluster: Cluster, path: str,
                                                               code: int) -> None:
    """As upstream with --anonymous-auth on: system:anonymous is authenticated but RBAC grants
    it only system:public-info-viewer."""
    connector = aiohttp.TCPConnector(ssl=cluster.ssl_context(anonymous=True))
    async with aiohttp.ClientSession(cluster.apiserver.url, connector=connector) as session, \
            session.get(path) as response:
        assert response.status == code
        if code == 403:
            body = await response.json()
            assert body["reason"] == "Forbidden" and "system:anonymous" in body["message"]


async def test_a_bad_bearer_token_is_unauthorized(cluster: Cluster) -> None:
    connector = aiohttp.TCPConnector(ssl=cluster.ssl_context(anonymous=True))
    async with aiohttp.ClientSession(cluster.apiserver.url, connector=connector) as session, \
            session.get("/api", headers={"Authorization": "Bearer abcdef.0123456789abcdef"}
                        ) as response:
        assert response.status == 401
        assert (await response.json())["reason"] == "Unauthorized"


async def test_users_outside_system_masters_may_discover_but_not_read(cluster: Cluster) -> None:
    connector = aiohttp.TCPConnector(ssl=cluster.ssl_context("jane", ("devs",)))
    async with aiohttp.ClientSession(cluster.apiserver.url, connector=connector) as session:
        async with session.get("/apis") as response:
            assert response.status == 200
        async with session.get("/api/v1/namespaces/default/secrets") as response:
            assert response.status == 403
            body = await response.json()
            assert body["reason"] == "Forbidden" and '"jane"' in body["message"]


async def test_bodies_over_three_mebibytes_are_refused(http: aiohttp.ClientSession,
                                                      ns: str) -> None:
    huge = cm("big", data={"k": "x" * (3 * 1024 * 1024 + 10)})
    code, body, _ = await call(http, "POST", f"/api/v1/namespaces/{ns}/configmaps", huge)
    assert code == 413 and body["reason"] == "RequestEntityTooLarge"


@pytest.mark.parametrize(("content_type", "payload"), [
    ("application/json", b'{"metadata": {"name": '),
    ("application/yaml", b"metadata: {name: [unclosed"),
    ("application/json", b"[1, 2]"),
], ids=["truncated JSON", "broken YAML", "a JSON array instead of an object"])
async def test_malformed_bodies_are_bad_requests(http: aiohttp.ClientSession, ns: str,
                                                 content_type: str, payload: bytes) -> None:
    code, body, _ = await call(http, "POST", f"/api/v1/namespaces/{ns}/configmaps", payload,
                               {"Content-Type": content_type})
    assert code == 400 and body["reason"] == "BadRequest"


async def test_yaml_in_and_out(http: aiohttp.ClientSession, ns: str) -> None:
    code, _, _ = await call(http, "POST", f"/api/v1/namespaces/{ns}/configmaps",
                            yaml.safe_dump(cm("y")), {"Content-Type": "application/yaml"})
    assert code == 201
    async with http.get(f"/api/v1/namespaces/{ns}/configmaps/y",
                        headers={"Accept": "application/yaml"}) as response:
        assert response.content_type == "application/yaml"
        assert yaml.safe_load(await response.text())["data"] == {"k": "v"}


@pytest.mark.parametrize(("accept", "content_type"), [
    ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
     "application/json", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"),
    ("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
     "application/json",
     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"),
    ("application/json", "application/json"),
], ids=["kubectl 1.30+ gets v2", "kubectl 1.27-1.29 get v2beta1", "others get legacy"])
async def test_aggregated_discovery_is_negotiated(http: aiohttp.ClientSession, accept: str,
                                                  content_type: str) -> None:
    async with http.get("/apis", headers={"Accept": accept}) as response:
        assert response.headers["Content-Type"] == content_type
        body = await response.json(content_type=None)
    if "apidiscovery" in content_type:
        groups = {item["metadata"]["name"]: item for item in body["items"]}
        apps = groups["apps"]["versions"][0]["resources"]
        deployments = next(r for r in apps if r["resource"] == "deployments")
        scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
        assert scale["responseKind"] == {"group": "autoscaling", "version": "v1",
                                         "kind": "Scale"}
    else:
        assert body["kind"] == "APIGroupList"


async def test_pod_eviction_is_advertised_in_the_policy_group(
        http: aiohttp.ClientSession) -> None:
    _, body, _ = await call(http, "GET", "/api/v1/")
    eviction = next(r for r in body["resources"] if r["name"] == "pods/eviction")
    assert (eviction["group"], eviction["version"], eviction["kind"]) == ("policy", "v1",
                                                                          "Eviction")


@pytest.mark.parametrize(("include", "expected"), [
    ("", "PartialObjectMetadata"), ("Object", "ConfigMap"), ("None", None)])
async def test_tables_carry_the_requested_row_objects(http: aiohttp.ClientSession, ns: str,
                                                      include: str, expected: str | None
                                                      ) -> None:
    await call(http, "POST", f"/api/v1/namespaces/{ns}/configmaps", cm("t"))
    query = f"?includeObject={include}" if include else ""
    _, table, _ = await call(http, "GET", f"/api/v1/namespaces/{ns}/configmaps{query}",
                             headers={"Accept": "application/json;as=Table;v=v1;"
                                                "g=meta.k8s.io,application/json"})
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    row = table["rows"][0]
    assert row["cells"][:2] == ["t", 1]
    assert (row.get("object") or {}).get("kind") == expected


async def test_unknown_include_object_is_a_bad_request(http: aiohttp.ClientSession,
                                                       ns: str) -> None:
    code, _, _ = await call(http, "GET", f"/api/v1/namespaces/{ns}/configmaps?includeObject=X",
                            headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert code == 400


async def test_list_resource_version_semantics(http: aiohttp.ClientSession, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    _, created, _ = await call(http, "POST", base, cm("r"))
    before = created["metadata"]["resourceVersion"]
    await call(http, "PATCH", f"{base}/r", {"data": {"k": "new"}},
               {"Content-Type": "application/merge-patch+json"})
    _, exact, _ = await call(http, "GET", f"{base}?resourceVersion={before}"
                                          "&resourceVersionMatch=Exact")
    assert exact["items"][0]["data"] == {"k": "v"}
    assert exact["metadata"]["resourceVersion"] == before
    _, cached, _ = await call(http, "GET", f"{base}?resourceVersion=0")
    assert cached["items"][0]["data"] == {"k": "new"}
    code, future, _ = await call(http, "GET", f"{base}?resourceVersion=99999999")
    assert code == 504 and future["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
    code, invalid, _ = await call(http, "GET", f"{base}?resourceVersionMatch=Exact")
    assert code == 422 and invalid["reason"] == "Invalid"


async def test_watch_sends_initial_events_then_an_end_bookmark(http: aiohttp.ClientSession,
                                                               ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    await call(http, "POST", base, cm("b1"))
    query = ("?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
             "&allowWatchBookmarks=true&timeoutSeconds=2")
    async with http.get(base + query) as response:
        lines = [json.loads(line) async for line in response.content if line.strip()]
    assert [e["type"] for e in lines[:2]] == ["ADDED", "BOOKMARK"]
    assert {e["type"] for e in lines[2:]} <= {"BOOKMARK"}  # progress before the stream ends
    bookmark = lines[1]["object"]["metadata"]
    assert bookmark["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_watch_with_a_label_selector_sees_transitions(http: aiohttp.ClientSession,
                                                           ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    _, obj, _ = await call(http, "POST", base, cm("s"))
    rv = obj["metadata"]["resourceVersion"]
    merge = {"Content-Type": "application/merge-patch+json"}
    await call(http, "PATCH", f"{base}/s", {"metadata": {"labels": {"sel": "yes"}}}, merge)
    await call(http, "PATCH", f"{base}/s", {"metadata": {"labels": {"sel": "no"}}}, merge)
    async with http.get(f"{base}?watch=1&resourceVersion={rv}&labelSelector=sel%3Dyes"
                        "&timeoutSeconds=1") as response:
        events = [json.loads(line)["type"] async for line in response.content if line.strip()]
    assert events == ["ADDED", "DELETED"]


async def test_dry_run_validates_without_storing(http: aiohttp.ClientSession, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    code, body, _ = await call(http, "POST", f"{base}?dryRun=All", cm("dry"))
    assert code == 201 and body["metadata"]["uid"]
    code, _, _ = await call(http, "GET", f"{base}/dry")
    assert code == 404
    code, body, _ = await call(http, "POST", f"{base}?dryRun=Some", cm("dry"))
    assert code == 400


async def test_generate_name_makes_unique_names(http: aiohttp.ClientSession, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    names = set()
    for _ in range(3):
        _, body, _ = await call(http, "POST", base, {"metadata": {"generateName": "job-"},
                                                     "data": {}})
        names.add(body["metadata"]["name"])
    assert len(names) == 3 and all(n.startswith("job-") and len(n) == 9 for n in names)


@pytest.mark.parametrize(("path_ns", "body_ns", "code", "reason"), [
    ("missing-ns", None, 404, "NotFound"),
    (None, "other", 400, "BadRequest"),
], ids=["into a namespace that does not exist", "with a namespace that differs from the URL"])
async def test_namespace_rules_on_create(http: aiohttp.ClientSession, ns: str,
                                         path_ns: str | None, body_ns: str | None, code: int,
                                         reason: str) -> None:
    body = cm("n")
    if body_ns:
        body["metadata"]["namespace"] = body_ns
    status, answer, _ = await call(http, "POST",
                                   f"/api/v1/namespaces/{path_ns or ns}/configmaps", body)
    assert (status, answer["reason"]) == (code, reason)


async def test_field_validation_strict_warn_ignore(http: aiohttp.ClientSession, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    code, body, _ = await call(http, "POST", f"{base}?fieldValidation=Strict",
                               cm("v1", bogus=1))
    assert code == 400 and 'unknown field "bogus"' in body["message"]
    code, body, response = await call(http, "POST", f"{base}?fieldValidation=Warn",
                                      cm("v2", bogus=1))
    assert code == 201 and "bogus" not in body
    assert 'unknown field \\"bogus\\"' in response.headers["Warning"]
    code, _, response = await call(http, "POST", f"{base}?fieldValidation=Ignore",
                                   cm("v3", bogus=1))
    assert code == 201 and "Warning" not in response.headers


async def test_invalid_objects_get_422_with_a_cause_per_field(http: aiohttp.ClientSession,
                                                              ns: str) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "Bad Name", "image": "x"}],
                    "restartPolicy": "Sometimes"}}
    code, body, _ = await call(http, "POST", f"/api/v1/namespaces/{ns}/pods", pod)
    assert code == 422 and body["reason"] == "Invalid"
    fields = {c["field"] for c in body["details"]["causes"]}
    assert {"spec.containers[0].name", "spec.restartPolicy"} <= fields


async def test_unknown_paths_are_not_found_statuses(http: aiohttp.ClientSession) -> None:
    code, body, _ = await call(http, "GET", "/apis/nope.example.com/v1/things")
    assert code == 404 and body["message"] == "the server could not find the requested resource"


async def test_pod_binding_sets_the_node_once(http: aiohttp.ClientSession, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    await call(http, "POST", base, {"metadata": {"name": "b"}, "spec": {
        "containers": [{"name": "c", "image": "busybox"}]}})
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "b"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}}
    code, _, _ = await call(http, "POST", f"{base}/b/binding", binding)
    assert code == 201
    code, body, _ = await call(http, "POST", f"{base}/b/binding", binding)
    assert code == 409 and body["reason"] == "Conflict"
    _, pod, _ = await call(http, "GET", f"{base}/b")
    assert pod["spec"]["nodeName"] == "node-1"


async def test_graceful_pod_deletion_waits_for_the_final_delete(http: aiohttp.ClientSession,
                                                                ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    await call(http, "POST", base, {"metadata": {"name": "g"}, "spec": {
        "nodeName": "node-1", "containers": [{"name": "c", "image": "busybox"}]}})
    code, pod, _ = await call(http, "DELETE", f"{base}/g")
    assert code == 200 and pod["metadata"]["deletionGracePeriodSeconds"] == 30
    code, _, _ = await call(http, "GET", f"{base}/g")
    assert code == 200
    code, _, _ = await call(http, "DELETE", f"{base}/g", {"gracePeriodSeconds": 0})
    assert code == 200
    code, _, _ = await call(http, "GET", f"{base}/g")
    assert code == 404


async def test_namespace_deletion_marks_it_terminating(http: aiohttp.ClientSession) -> None:
    name = f"gone{next(_names)}"
    await call(http, "POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    code, body, _ = await call(http, "DELETE", f"/api/v1/namespaces/{name}")
    assert code == 200 and body["status"]["phase"] == "Terminating"
    code, body, _ = await call(http, "POST", f"/api/v1/namespaces/{name}/configmaps", cm("x"))
    assert code == 403
    _, current, _ = await call(http, "GET", f"/api/v1/namespaces/{name}")
    finalize = {**current, "spec": {"finalizers": []}}
    code, _, _ = await call(http, "PUT", f"/api/v1/namespaces/{name}/finalize", finalize)
    assert code == 200
    code, _, _ = await call(http, "GET", f"/api/v1/namespaces/{name}")
    assert code == 404


@pytest.mark.parametrize("first_page_rv", ["", "0"], ids=["pages from etcd",
                                                          "first page from the watch cache"])
async def test_pagination_returns_every_item_once(http: aiohttp.ClientSession, ns: str,
                                                  first_page_rv: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    for index in range(7):
        await call(http, "POST", base, cm(f"c{index}"))
    query = f"?limit=3&resourceVersion={first_page_rv}" if first_page_rv else "?limit=3"
    _, page, _ = await call(http, "GET", base + query)
    assert page["metadata"]["remainingItemCount"] == 4
    names = [i["metadata"]["name"] for i in page["items"]]
    await call(http, "POST", base, cm("late"))  # later pages still show the first moment
    while page["metadata"].get("continue"):
        _, page, _ = await call(http, "GET", f"{base}?limit=3&continue="
                                             f"{page['metadata']['continue']}")
        names += [i["metadata"]["name"] for i in page["items"]]
    assert names == [f"c{i}" for i in range(7)]


async def test_kubelets_are_confined_by_node_authorization_and_node_restriction(
        cluster: Cluster, http: aiohttp.ClientSession) -> None:
    suffix = next(_names)
    mine, other = f"n{suffix}a", f"n{suffix}b"
    for node in (mine, other):
        await call(http, "POST", "/api/v1/nodes", {"metadata": {"name": node}})
    connector = aiohttp.TCPConnector(ssl=cluster.ssl_context(f"system:node:{mine}",
                                                             ("system:nodes",)))
    merge = {"Content-Type": "application/merge-patch+json"}
    async with aiohttp.ClientSession(cluster.apiserver.url, connector=connector) as kubelet:
        code, _, _ = await call(kubelet, "PATCH", f"/api/v1/nodes/{mine}",
                                {"metadata": {"labels": {"kubernetes.io/os": "linux"}}}, merge)
        assert code == 200
        code, body, _ = await call(kubelet, "PATCH", f"/api/v1/nodes/{mine}", {"metadata": {
            "labels": {"node-restriction.kubernetes.io/pool": "x"}}}, merge)
        assert code == 403 and body["reason"] == "Forbidden"
        code, body, _ = await call(kubelet, "PATCH", f"/api/v1/nodes/{other}",
                                   {"metadata": {"labels": {"kubernetes.io/os": "linux"}}},
                                   merge)
        assert code == 403


async def test_rbac_refuses_granting_more_than_one_holds(cluster: Cluster,
                                                         http: aiohttp.ClientSession,
                                                         ns: str) -> None:
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "jane-admin"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "admin"},
               "subjects": [{"kind": "User", "name": "jane",
                             "apiGroup": "rbac.authorization.k8s.io"}]}
    code, _, _ = await call(http, "POST",
                            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
                            binding)
    assert code == 201
    connector = aiohttp.TCPConnector(ssl=cluster.ssl_context("jane", ("devs",)))
    async with aiohttp.ClientSession(cluster.apiserver.url, connector=connector) as jane:
        code, _, _ = await call(jane, "POST", f"/api/v1/namespaces/{ns}/configmaps", cm("ok"))
        assert code == 201  # the admin role lets her write configmaps and roles here
        reader = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                  "metadata": {"name": "reader"},
                  "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
        code, _, _ = await call(jane, "POST",
                                f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
                                reader)
        assert code == 201
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "everything"},
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}
        code, body, _ = await call(jane, "POST",
                                   f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
                                   role)
        assert code == 403 and body["reason"] == "Forbidden"
        assert "attempting to grant RBAC permissions not currently held" in body["message"]


async def test_service_account_issuer_discovery_documents(http: aiohttp.ClientSession) -> None:
    _, config, _ = await call(http, "GET", "/.well-known/openid-configuration")
    assert config["issuer"] == "https://kubernetes.default.svc.cluster.local"
    assert config["jwks_uri"].endswith("/openid/v1/jwks")
    async with http.get("/openid/v1/jwks") as response:
        keys = json.loads(await response.read())["keys"]
    assert len(keys) == 1 and keys[0]["use"] == "sig" and keys[0]["kid"]
    assert config["id_token_signing_alg_values_supported"] == [keys[0]["alg"]]


async def test_deleting_a_binding_revokes_access(cluster: Cluster, http: aiohttp.ClientSession,
                                                 ns: str) -> None:
    bindings = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings"
    await call(http, "POST", bindings, {
        "metadata": {"name": "bob-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "view"},
        "subjects": [{"kind": "User", "name": "bob", "apiGroup": "rbac.authorization.k8s.io"}]})
    connector = aiohttp.TCPConnector(ssl=cluster.ssl_context("bob", ("readers",)))
    async with aiohttp.ClientSession(cluster.apiserver.url, connector=connector) as bob:
        async def bob_lists() -> int:
            code, _, _ = await call(bob, "GET", f"/api/v1/namespaces/{ns}/configmaps")
            return code

        for _ in range(50):  # the grant arrives through the rolebindings watch
            if await bob_lists() == 200:
                break
            await asyncio.sleep(0.1)
        assert await bob_lists() == 200
        await call(http, "DELETE", f"{bindings}/bob-view")
        for _ in range(50):
            if await bob_lists() == 403:
                break
            await asyncio.sleep(0.1)
        assert await bob_lists() == 403
