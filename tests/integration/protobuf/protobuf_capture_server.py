"""A small HTTP server that plays just enough API server for kubectl to send its write bodies.

It answers legacy discovery for the groups the commands under test use, serves a plausible
object for single-object GETs (autoscale reads its target, drain reads the node and its pods),
records every request body with its content type, and answers writes with the object it was sent
(decoded by the module under test when it is protobuf, so kubectl can print "<kind>/<name>
created"). Objects that were evicted or deleted answer 404 afterwards, which ends `kubectl drain`.
Tests start it on a free loopback port and always stop it (the `capture` fixture in conftest.py)
and run kubectl against it with `Capture.kubectl`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from kubeadmpy.machinery.protobuf import PROTOBUF_CONTENT_TYPE, decode_k8s_protobuf

# group/version → resources served (name, kind, namespaced).
RESOURCES: dict[str, list[tuple[str, str, bool]]] = {
    "v1": [
        ("configmaps", "ConfigMap", True), ("secrets", "Secret", True),
        ("namespaces", "Namespace", False), ("services", "Service", True),
        ("serviceaccounts", "ServiceAccount", True), ("resourcequotas", "ResourceQuota", True),
        ("pods", "Pod", True), ("nodes", "Node", False),
    ],
    "apps/v1": [("deployments", "Deployment", True)],
    "autoscaling/v1": [("horizontalpodautoscalers", "HorizontalPodAutoscaler", True)],
    "autoscaling/v2": [("horizontalpodautoscalers", "HorizontalPodAutoscaler", True)],
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

# `kubectl autoscale` needs the scale subresource, `kubectl drain` the eviction one.
SUBRESOURCES: dict[str, list[dict[str, Any]]] = {
    "apps/v1": [{"name": "deployments/scale", "singularName": "", "namespaced": True,
                 "group": "autoscaling", "version": "v1", "kind": "Scale",
                 "verbs": ["get", "patch", "update"]}],
    "v1": [{"name": "pods/eviction", "singularName": "", "namespaced": True,
            "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]}],
}

# The one pod on every node, managed by a ReplicaSet so drain evicts it without --force.
NODE_POD = "web-7d4b9c"


@dataclass
class CapturedRequest:
    method: str
    path: str
    content_type: str
    body: bytes


@dataclass
class CaptureServer:
    requests: list[CapturedRequest] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)  # paths of evicted or deleted objects
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # path → object to serve

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
            return self._read(path, request)
        if request.method == "PATCH":  # cordon: answer with the object as it is
            return self._read(path, request)
        if request.method == "DELETE":
            self.gone.add(path)
        if path.endswith("/eviction"):
            self.gone.add(path.removesuffix("/eviction"))
        return self._write_reply(request, body)

    def _read(self, path: str, request: web.Request) -> web.Response:
        if path == "/api":
            return _json({"kind": "APIVersions", "versions": ["v1"],
                          "serverAddressByClientCIDRs": [
                              {"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}]})
        if path == "/apis":
            groups = []
            for gv in RESOURCES:
                if "/" in gv:
                    group, version = gv.split("/")
                    entry = {"groupVersion": gv, "version": version}
                    groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
            return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        gv_path = path.removeprefix("/api/").removeprefix("/apis/")
        if gv_path in RESOURCES:
            return _json({
                "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv_path,
                "resources": [
                    {"name": name, "singularName": kind.lower(), "namespaced": namespaced,
                     "kind": kind, "verbs": ["create", "get", "list", "delete", "update"]}
                    for name, kind, namespaced in RESOURCES[gv_path]
                ] + SUBRESOURCES.get(gv_path, []),
            })
        if gv_path == "v1/pods":
            return _json({"kind": "PodList", "apiVersion": "v1", "metadata": {},
                          "items": [_pod()] if f"/api/v1/namespaces/default/pods/{NODE_POD}"
                          not in self.gone else []})
        stored = None if path in self.gone else self.objects.get(path) or _stored_object(gv_path)
        if stored is not None:
            return _json(stored)
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
        if request.method == "DELETE":
            return _json({"kind": "Status", "apiVersion": "v1", "status": "Success"})
        obj = dict(obj)
        metadata = dict(obj.get("metadata") or {})
        metadata.setdefault("name", metadata.get("generateName", "") + "generated")
        metadata["creationTimestamp"] = "2026-01-01T00:00:00Z"
        obj["metadata"] = metadata
        obj.update(_STATUS_REPLIES.get(str(obj.get("kind")), {}))
        return _json(obj, status=201)


# What kubectl reads back from the review and token kinds.
_STATUS_REPLIES: dict[str, dict[str, Any]] = {
    "SelfSubjectAccessReview": {"status": {"allowed": True}},
    "SelfSubjectReview": {"status": {"userInfo": {"username": "tester"}}},
    "SelfSubjectRulesReview": {"status": {"resourceRules": [], "nonResourceRules": [],
                                          "incomplete": False}},
    "TokenRequest": {"status": {"token": "captured-token",
                                "expirationTimestamp": "2030-01-01T00:00:00Z"}},
}


def _pod() -> dict[str, Any]:
    return {
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": NODE_POD, "namespace": "default", "uid": "pod-uid",
                     "resourceVersion": "5",
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                          "name": "web-7d4b", "uid": "rs-uid",
                                          "controller": True}]},
        # kubectl debug --copy-to reads spec.securityContext without a nil check
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx"}],
                 "securityContext": {}},
        "status": {"phase": "Running"},
    }


def _stored_object(gv_path: str) -> dict[str, Any] | None:
    """A plausible object for GET <gv>/[namespaces/<ns>/]<resource>/<name>."""
    for gv, resources in RESOURCES.items():
        rest = gv_path.removeprefix(gv + "/")
        if rest == gv_path:
            continue
        parts = rest.split("/")
        namespace = parts[1] if len(parts) == 4 and parts[0] == "namespaces" else None
        resource, name = parts[-2:] if len(parts) in (2, 4) else ("", "")
        for plural, kind, _ in resources:
            if plural != resource:
                continue
            if kind == "Pod":
                return _pod()
            labels = {"app": name}
            metadata = {"name": name, "labels": labels, "resourceVersion": "1", "uid": "uid-1"}
            if namespace:
                metadata["namespace"] = namespace
            template = {"metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
            return {"kind": kind, "apiVersion": gv, "metadata": metadata,
                    "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                             "template": template}}
    return None


def _json(obj: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(obj), content_type="application/json")


KUBECTL_133 = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.33")
KUBECTL_132 = Path("/usr/bin/kubectl")


@dataclass
class KubectlResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Capture:
    """A running capture server and a kubeconfig pointing at it."""

    server: CaptureServer
    kubeconfig: Path
    cache_dir: Path
    workdir: Path

    async def kubectl(self, binary: Path, *args: str) -> KubectlResult:
        process = await asyncio.create_subprocess_exec(
            str(binary), "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir),
            *args,
            cwd=self.workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        return KubectlResult(process.returncode or 0, stdout.decode(), stderr.decode())
