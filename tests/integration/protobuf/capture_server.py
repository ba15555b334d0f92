"""A small HTTP server that plays just enough API server for kubectl to send its write bodies.

It answers legacy discovery for the groups the `kubectl create` commands use, records every
request body with its content type, and answers writes with the object it was sent (decoded by
the module under test when it is protobuf, so kubectl can print "<kind>/<name> created").
Tests start it on a free loopback port and always stop it (see conftest.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kubeadmpy.machinery.protobuf import PROTOBUF_CONTENT_TYPE, decode_k8s_protobuf

# group/version → resources served (name, kind, namespaced).
RESOURCES: dict[str, list[tuple[str, str, bool]]] = {
    "v1": [
        ("configmaps", "ConfigMap", True), ("secrets", "Secret", True),
        ("namespaces", "Namespace", False), ("services", "Service", True),
        ("serviceaccounts", "ServiceAccount", True), ("resourcequotas", "ResourceQuota", True),
        ("pods", "Pod", True),
    ],
    "apps/v1": [("deployments", "Deployment", True)],
    "batch/v1": [("jobs", "Job", True), ("cronjobs", "CronJob", True)],
    "rbac.authorization.k8s.io/v1": [
        ("roles", "Role", True), ("clusterroles", "ClusterRole", False),
        ("rolebindings", "RoleBinding", True), ("clusterrolebindings", "ClusterRoleBinding", False),
    ],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    "networking.k8s.io/v1": [("ingresses", "Ingress", True)],
    "scheduling.k8s.io/v1": [("priorityclasses", "PriorityClass", False)],
    "authorization.k8s.io/v1": [
        ("selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
        ("selfsubjectrulesreviews", "SelfSubjectRulesReview", False),
    ],
    "authentication.k8s.io/v1": [("selfsubjectreviews", "SelfSubjectReview", False)],
}


@dataclass
class CapturedRequest:
    method: str
    path: str
    content_type: str
    body: bytes


@dataclass
class CaptureServer:
    requests: list[CapturedRequest] = field(default_factory=list)

    def writes(self) -> list[CapturedRequest]:
        return [r for r in self.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            CapturedRequest(request.method, request.path, request.content_type, body)
        )
        path = request.path.rstrip("/")
        if request.method == "GET":
            return self._discovery(path, request.host)
        return self._write_reply(request, body)

    def _discovery(self, path: str, host: str) -> web.Response:
        if path == "/api":
            return _json({"kind": "APIVersions", "versions": ["v1"],
                          "serverAddressByClientCIDRs": [
                              {"clientCIDR": "0.0.0.0/0", "serverAddress": host}]})
        if path == "/apis":
            groups = []
            for gv in RESOURCES:
                if "/" in gv:
                    group, version = gv.split("/")
                    entry = {"groupVersion": gv, "version": version}
                    groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
            return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        gv = path.removeprefix("/api/").removeprefix("/apis/")
        if gv in RESOURCES:
            return _json({
                "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                "resources": [
                    {"name": name, "singularName": kind.lower(), "namespaced": namespaced,
                     "kind": kind, "verbs": ["create", "get", "list", "delete", "update"]}
                    for name, kind, namespaced in RESOURCES[gv]
                ],
            })
        return _json({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                      "reason": "NotFound", "code": 404}, status=404)

    def _write_reply(self, request: web.Request, body: bytes) -> web.Response:
        try:
            if request.content_type == PROTOBUF_CONTENT_TYPE:
                obj: dict[str, Any] = decode_k8s_protobuf(body)
            else:
                obj = json.loads(body) if body else {}
        except Exception as exc:  # reported to kubectl; the test asserts on the decode itself
            return _json({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                          "message": str(exc), "reason": "BadRequest", "code": 400}, status=400)
        obj = dict(obj)
        metadata = dict(obj.get("metadata") or {})
        metadata.setdefault("name", metadata.get("generateName", "") + "generated")
        metadata["creationTimestamp"] = "2026-01-01T00:00:00Z"
        obj["metadata"] = metadata
        if obj.get("kind") in ("SelfSubjectAccessReview", "SubjectAccessReview"):
            obj["status"] = {"allowed": True}
        if obj.get("kind") == "SelfSubjectReview":
            obj["status"] = {"userInfo": {"username": "tester"}}
        if obj.get("kind") == "SelfSubjectRulesReview":
            obj["status"] = {"resourceRules": [], "nonResourceRules": [], "incomplete": False}
        if obj.get("kind") == "TokenRequest":
            obj["status"] = {"token": "captured-token",
                             "expirationTimestamp": "2030-01-01T00:00:00Z"}
        return _json(obj, status=201)


def _json(obj: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(obj), content_type="application/json")
