"""A discovery-only HTTP server on 127.0.0.1 serving the real OpenAPI documents to kubectl.

The API server is built elsewhere; these tests judge only the OpenAPI documents, so the server
answers discovery for a few resources, the OpenAPI endpoints, and records every request so tests
can see what kubectl decided (for example that it asked for server-side field validation).
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from kubeadmpy.machinery.schema.openapi import OpenAPIDocuments

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...] = VERBS


RESOURCES = (
    Resource("", "v1", "Pod", "pods", True),
    Resource("", "v1", "ConfigMap", "configmaps", True),
    Resource("", "v1", "Namespace", "namespaces", False),
    Resource("apps", "v1", "Deployment", "deployments", True),
)


@dataclass
class FakeDiscoveryServer:
    """Discovery + OpenAPI over plain HTTP; writes echo the body back (nothing is stored)."""

    url: str
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, query


def _resource_list(group: str, version: str) -> dict[str, object]:
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [{"name": r.plural, "singularName": r.kind.lower(),
                           "namespaced": r.namespaced, "kind": r.kind, "verbs": list(r.verbs)}
                          for r in RESOURCES if (r.group, r.version) == (group, version)]}


def _app(server: FakeDiscoveryServer) -> web.Application:
    documents = OpenAPIDocuments(RESOURCES)

    @web.middleware
    async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
        server.requests.append((request.method, request.path, request.query_string))
        return await handler(request)

    async def api(_: web.Request) -> web.Response:
        return web.json_response({"kind": "APIVersions", "versions": ["v1"],
                                  "serverAddressByClientCIDRs": []})

    async def apis(_: web.Request) -> web.Response:
        group = {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                 "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}
        return web.json_response({"kind": "APIGroupList", "apiVersion": "v1",
                                  "groups": [group]})

    async def core_v1(_: web.Request) -> web.Response:
        return web.json_response(_resource_list("", "v1"))

    async def apps_v1(_: web.Request) -> web.Response:
        return web.json_response(_resource_list("apps", "v1"))

    async def v3_root(_: web.Request) -> web.Response:
        document = documents.v3_root()
        return web.Response(body=document.body, content_type=document.content_type)

    async def v3_group_version(request: web.Request) -> web.Response:
        document = documents.v3_group_version(request.match_info["path"])
        if document is None:
            raise web.HTTPNotFound()
        return web.Response(body=document.body, content_type=document.content_type)

    async def v2(request: web.Request) -> web.Response:
        document = documents.v2(request.headers.get("Accept", ""))
        return web.Response(body=document.body,
                            headers={"Content-Type": document.content_type})

    async def not_found(request: web.Request) -> web.Response:
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": "the server could not find the requested resource",
                  "reason": "NotFound", "code": 404}
        return web.json_response(status, status=404)

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(await request.json(), status=201)

    app = web.Application(middlewares=[record])
    app.router.add_get("/api", api)
    app.router.add_get("/apis", apis)
    app.router.add_get("/api/v1", core_v1)
    app.router.add_get("/apis/apps/v1", apps_v1)
    app.router.add_get("/openapi/v3", v3_root)
    app.router.add_get("/openapi/v3/{path:.+}", v3_group_version)
    app.router.add_get("/openapi/v2", v2)
    app.router.add_post("/{tail:.*}", echo)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def discovery_server() -> AsyncIterator[FakeDiscoveryServer]:
    port = _free_port()
    server = FakeDiscoveryServer(url=f"http://127.0.0.1:{port}")
    runner = web.AppRunner(_app(server))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
def kubeconfig_for(tmp_path: Path) -> Iterator[object]:
    def write(url: str) -> Path:
        path = tmp_path / "kubeconfig"
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": url}}],
            "users": [{"name": "test", "user": {}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}]}))
        return path

    yield write
