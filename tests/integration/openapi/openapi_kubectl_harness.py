"""A small HTTP server on 127.0.0.1 that lets the real kubectl judge the schema machinery.

The API server is built elsewhere; these tests judge only the OpenAPI documents and the patch
machinery, so this server answers discovery for a few resources, serves the OpenAPI documents,
keeps objects in a dict (no etcd, no defaulting, no validation beyond the patch functions) and
answers writes with kubeadmpy.machinery.patch. It records every request so tests can see what
kubectl decided (for example that it asked for server-side field validation).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from kubeadmpy.machinery.patch import (
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    server_side_apply,
    update_managed_fields,
)
from kubeadmpy.machinery.schema.openapi import OpenAPIDocuments
from kubeadmpy.machinery.status import APIStatusError, not_found, path_not_found

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
    """Discovery + OpenAPI over plain HTTP, objects in memory, PATCH through our machinery."""

    url: str
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, query
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # item path → object


def _resource_list(group: str, version: str) -> dict[str, object]:
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [{"name": r.plural, "singularName": r.kind.lower(),
                           "namespaced": r.namespaced, "kind": r.kind, "verbs": list(r.verbs)}
                          for r in RESOURCES if (r.group, r.version) == (group, version)]}


def discovery_app(server: FakeDiscoveryServer) -> web.Application:
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

    async def unknown_path(_: web.Request) -> web.Response:
        return failure(path_not_found())

    def failure(error: APIStatusError) -> web.Response:
        return web.json_response(error.to_status(), status=error.code)

    async def get_object(request: web.Request) -> web.Response:
        obj = server.objects.get(request.path)
        if obj is None:
            return failure(not_found(request.match_info["plural"], "",
                                     request.match_info["name"]))
        return web.json_response(obj)

    async def create(request: web.Request) -> web.Response:
        obj = await request.json()
        obj.setdefault("metadata", {})["namespace"] = request.match_info["namespace"]
        obj["metadata"]["managedFields"] = update_managed_fields(
            None, obj, request.query.get("fieldManager", "unknown"))
        server.objects[f"{request.path}/{obj['metadata']['name']}"] = obj
        return web.json_response(obj, status=201)

    async def patch(request: web.Request) -> web.Response:
        live = server.objects.get(request.path)
        content_type = request.content_type
        manager = request.query.get("fieldManager", "unknown")
        try:
            if content_type == "application/apply-patch+yaml":
                applied = yaml.safe_load(await request.text())
                merged, _ = server_side_apply(live, applied, manager,
                                              request.query.get("force") == "true")
            elif live is None:
                return failure(not_found(request.match_info["plural"], "",
                                         request.match_info["name"]))
            else:
                body = await request.json()
                if content_type == "application/strategic-merge-patch+json":
                    merged = apply_strategic_merge_patch(live, body)
                elif content_type == "application/merge-patch+json":
                    merged = apply_merge_patch(live, body)
                else:
                    merged = apply_json_patch(live, body)
                merged["metadata"]["managedFields"] = update_managed_fields(
                    live, merged, manager)
        except APIStatusError as error:
            return failure(error)
        server.objects[request.path] = merged
        return web.json_response(merged, status=200 if live is not None else 201)

    app = web.Application(middlewares=[record])
    app.router.add_get("/api", api)
    app.router.add_get("/apis", apis)
    app.router.add_get("/api/v1", core_v1)
    app.router.add_get("/apis/apps/v1", apps_v1)
    app.router.add_get("/openapi/v3", v3_root)
    app.router.add_get("/openapi/v3/{path:.+}", v3_group_version)
    app.router.add_get("/openapi/v2", v2)
    for prefix in ("/api/v1", "/apis/apps/v1"):
        collection = prefix + "/namespaces/{namespace}/{plural}"
        app.router.add_get(collection + "/{name}", get_object)
        app.router.add_patch(collection + "/{name}", patch)
        app.router.add_post(collection, create)
    app.router.add_route("*", "/{tail:.*}", unknown_path)
    return app


KUBECTL_DIR = Path("/usr/lib/google-cloud-sdk/bin")


def kubectl(version: str) -> Path:
    """The real kubectl of that minor version (the image ships 1.27 ... 1.33)."""
    binary = KUBECTL_DIR / f"kubectl.{version}"
    assert binary.exists(), f"{binary} is missing; the test image ships kubectl 1.27-1.33"
    return binary


async def run_kubectl(version: str, kubeconfig: Path, cache: Path,
                      *args: str) -> tuple[int, str, str]:
    """Run kubectl with a private cache dir; (exit code, stdout, stderr). Killed on timeout."""
    process = await asyncio.create_subprocess_exec(
        str(kubectl(version)), "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache),
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
