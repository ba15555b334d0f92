"""A minimal HTTPS API front end wired to kubeadmpy.security, for judging it with real kubectl.

It serves only discovery for a handful of resources and the review APIs, authenticates every
request through a `SecurityStack`, authorizes everything but the reviews, and answers 401/403
with Status bodies as kube-apiserver does. It is a test harness for the security library (the
real server lives in kubeadmpy.apiserver); it runs in a thread on a kernel-chosen loopback port.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kubeadmpy.machinery.protobuf.envelope import decode_k8s_protobuf
from kubeadmpy.security.identity import UserInfo, forbidden_message, request_attributes
from kubeadmpy.security.impersonation import ImpersonationError
from kubeadmpy.security.reviews import ReviewInvalid
from kubeadmpy.security.stack import SecurityStack, credentials_from_aiohttp

log = logging.getLogger("security-harness")
USER_KEY = web.RequestKey("user", UserInfo)

RESOURCES: dict[str, list[tuple[str, str, bool, list[str]]]] = {
    "v1": [("pods", "Pod", True, ["get", "list", "create", "delete"]),
           ("secrets", "Secret", True, ["get", "list", "create", "delete"]),
           ("configmaps", "ConfigMap", True, ["get", "list", "create", "delete"]),
           ("nodes", "Node", False, ["get", "list"]),
           ("namespaces", "Namespace", False, ["get", "list"])],
    "apps/v1": [("deployments", "Deployment", True, ["get", "list", "create", "delete"])],
    "authorization.k8s.io/v1": [
        ("selfsubjectaccessreviews", "SelfSubjectAccessReview", False, ["create"]),
        ("selfsubjectrulesreviews", "SelfSubjectRulesReview", False, ["create"]),
        ("subjectaccessreviews", "SubjectAccessReview", False, ["create"])],
    "authentication.k8s.io/v1": [
        ("selfsubjectreviews", "SelfSubjectReview", False, ["create"]),
        ("tokenreviews", "TokenReview", False, ["create"])],
}


def status(code: int, reason: str, message: str) -> web.Response:
    return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Failure", "message": message, "reason": reason,
                              "code": code}, status=code)


def resource_list(group_version: str) -> dict[str, Any]:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": [{"name": name, "singularName": kind.lower(), "namespaced": namespaced,
                           "kind": kind, "verbs": verbs}
                          for name, kind, namespaced, verbs in RESOURCES[group_version]]}


def group_list() -> dict[str, Any]:
    groups = []
    for group_version in RESOURCES:
        if "/" not in group_version:
            continue
        group, version = group_version.split("/")
        entry = {"groupVersion": group_version, "version": version}
        groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


@dataclass
class HarnessServer:
    stack: SecurityStack
    context: ssl.SSLContext
    refusals: list[str] = field(default_factory=list)  # the "log line" for each 401
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @web.middleware
    async def _security(self, request: web.Request, handler: Any) -> web.StreamResponse:
        result = self.stack.authenticate(credentials_from_aiohttp(request))
        if result.user is None:
            self.refusals.append(result.reason)
            log.info("401 %s %s: %s", request.method, request.path, result.reason)
            return status(401, "Unauthorized", "Unauthorized")
        try:
            user = self.stack.impersonate(result.user, request.headers.items())
        except ImpersonationError as exc:
            return status(exc.code, "Forbidden" if exc.code == 403 else "BadRequest", str(exc))
        request[USER_KEY] = user
        if request.method != "POST":
            attrs = request_attributes(user, request.method, request.path,
                                       request.query_string)
            verdict = self.stack.authorize(attrs)
            if not verdict.allowed:
                return status(403, "Forbidden", forbidden_message(attrs, verdict.reason))
        return await handler(request)

    async def _get(self, request: web.Request) -> web.Response:
        path = request.path.rstrip("/")
        if path == "/api":
            return web.json_response({"kind": "APIVersions", "versions": ["v1"],
                                      "serverAddressByClientCIDRs": [
                                          {"clientCIDR": "0.0.0.0/0",
                                           "serverAddress": f"127.0.0.1:{self.port}"}]})
        if path == "/apis":
            return web.json_response(group_list())
        if path == "/api/v1":
            return web.json_response(resource_list("v1"))
        if path.startswith("/apis/") and path[len("/apis/"):] in RESOURCES:
            return web.json_response(resource_list(path[len("/apis/"):]))
        return status(404, "NotFound", "the server could not find the requested resource")

    async def _review(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            if request.content_type == "application/vnd.kubernetes.protobuf":
                body = decode_k8s_protobuf(raw)
            else:
                body = json.loads(raw or b"{}")
        except Exception as exc:  # any undecodable body is the client's fault
            return status(400, "BadRequest", f"the body could not be decoded: {exc}")
        if not isinstance(body, dict):
            return status(400, "BadRequest", "the body must be an object")
        user = request[USER_KEY]
        kind = request.match_info["resource"]
        answers = {
            "selfsubjectaccessreviews": lambda: self.stack.self_subject_access_review(body, user),
            "selfsubjectrulesreviews": lambda: self.stack.self_subject_rules_review(body, user),
            "subjectaccessreviews": lambda: self.stack.subject_access_review(body),
            "selfsubjectreviews": lambda: self.stack.self_subject_review(body, user),
            "tokenreviews": lambda: self.stack.token_review(body),
        }
        if kind not in answers:
            return status(404, "NotFound", "the server could not find the requested resource")
        try:
            answer = answers[kind]()
        except ReviewInvalid as exc:
            return status(422, "Invalid", str(exc))
        answer["apiVersion"] = f"{request.match_info['group']}/{request.match_info['version']}"
        return web.json_response(answer, status=201)

    def start(self) -> None:
        ready = threading.Event()
        app = web.Application(middlewares=[self._security])
        app.router.add_post("/apis/{group}/{version}/{resource}", self._review)
        app.router.add_get("/{tail:.*}", self._get)

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self.context)
            loop.run_until_complete(site.start())
            self._runner = runner
            self.port = runner.addresses[0][1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("harness server did not start")

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(30)


class DictObjects:
    """ClusterObjects over a dict, for the harness."""

    def __init__(self, items: Iterable[tuple[str, Mapping[str, Any]]] = ()) -> None:
        self.items: dict[tuple[str, str, str], Mapping[str, Any]] = {}
        for resource, obj in items:
            self.put(resource, obj)

    def put(self, resource: str, obj: Mapping[str, Any]) -> None:
        meta = obj["metadata"]
        self.items[(resource, meta.get("namespace", ""), meta["name"])] = obj

    def get(self, resource: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self.items.get((resource, namespace, name))

    def pods_on_node(self, node_name: str) -> list[Mapping[str, Any]]:
        return [o for (r, _, _), o in self.items.items()
                if r == "pods" and (o.get("spec") or {}).get("nodeName") == node_name]
