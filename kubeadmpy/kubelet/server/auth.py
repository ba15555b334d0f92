"""Authentication and authorization of the kubelet API (port 10250), as upstream does them.

Who: a client certificate verified against `authentication.x509.clientCAFile` (user = CN,
groups = O), else a bearer token checked with a TokenReview POST to the API
(`authentication.webhook.enabled`, answers cached for `cacheTTL`), else `system:anonymous` when
`authentication.anonymous.enabled`, else 401. What: with `authorization.mode: Webhook` every
request becomes a SubjectAccessReview on the node object, verb from the HTTP method and
subresource from the path (/stats → stats, /metrics → metrics, /logs → log, /spec → spec,
everything else — containerLogs, exec, attach, portForward, pods, healthz — → proxy); a denial
is a 403 naming the user, verb, resource and subresource, as upstream words it.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from kubeadmpy.client import errors as api_errors

log = logging.getLogger(__name__)

VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
         "DELETE": "delete"}
SUBRESOURCE_BY_PREFIX = (("/stats", "stats"), ("/metrics", "metrics"), ("/logs", "log"),
                         ("/spec", "spec"), ("/checkpoint", "checkpoint"),
                         ("/configz", "configz"), ("/healthz", "healthz"))
AUTHN_CACHE_LIMIT = 1024


class APIRequester(Protocol):
    """The one call the server needs from kubeadmpy.client.Client."""

    async def request(self, method: str, path: str, *, body: Any = None) -> Any: ...


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: Mapping[str, list[str]] | None = None


@dataclass(frozen=True)
class AuthSettings:
    """KubeletConfiguration.authentication / .authorization, flattened."""

    client_ca_file: str = ""
    anonymous: bool = False
    webhook: bool = True
    webhook_cache_ttl: float = 120.0
    mode: str = "Webhook"  # or AlwaysAllow
    authorized_ttl: float = 300.0
    unauthorized_ttl: float = 30.0


def subresource_for(path: str) -> str:
    """The nodes/<subresource> a kubelet API path is authorized as."""
    for prefix, subresource in SUBRESOURCE_BY_PREFIX:
        if path == prefix or path.startswith(prefix + "/"):
            return subresource
    return "proxy"


def request_attributes(method: str, path: str, node_name: str) -> dict[str, Any]:
    """SubjectAccessReview resourceAttributes for one request to the kubelet."""
    return {"verb": VERBS.get(method.upper(), "*"), "group": "", "version": "v1",
            "resource": "nodes", "subresource": subresource_for(path), "name": node_name}


def user_from_certificate(peer: Mapping[str, Any] | None) -> User | None:
    """CN and O of a verified client certificate (ssl's getpeercert() form)."""
    if not peer:
        return None
    name, groups = "", []
    for rdn in peer.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                name = value
            elif key == "organizationName":
                groups.append(value)
    return User(name, (*groups, "system:authenticated")) if name else None


class Authenticator:
    """Answers who sent a request, with the TokenReview and SubjectAccessReview caches."""

    def __init__(self, settings: AuthSettings, node_name: str,
                 api: APIRequester | None) -> None:
        self.settings = settings
        self.node_name = node_name
        self.api = api
        self._tokens: dict[str, tuple[float, User | None]] = {}
        self._decisions: dict[tuple[Any, ...], tuple[float, bool, str]] = {}

    async def authenticate(self, request: web.Request) -> User:
        transport = request.transport
        peer = transport.get_extra_info("peercert") if transport is not None else None
        user = user_from_certificate(peer)
        if user is not None:
            return user
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer ") and self.settings.webhook:
            user = await self._token_user(header[7:].strip())
            if user is not None:
                return user
        if self.settings.anonymous:
            return User("system:anonymous", ("system:unauthenticated",))
        raise web.HTTPUnauthorized(text="Unauthorized")

    async def _token_user(self, token: str) -> User | None:
        cached = self._tokens.get(token)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        if self.api is None:
            return None
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                  "spec": {"token": token}}
        try:
            answer = await self.api.request(
                "POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=review)
        except api_errors.APIError as exc:
            log.warning("TokenReview failed: %s", exc)
            return None
        status = answer.get("status") or {}
        user = None
        if status.get("authenticated"):
            info = status.get("user") or {}
            user = User(str(info.get("username", "")), tuple(info.get("groups") or ()),
                        str(info.get("uid", "")), info.get("extra"))
        if len(self._tokens) > AUTHN_CACHE_LIMIT:
            self._tokens.clear()
        self._tokens[token] = (time.monotonic() + self.settings.webhook_cache_ttl, user)
        return user

    async def authorize(self, user: User, method: str, path: str) -> None:
        """Raise 403 unless the API says this user may do this on this node."""
        if self.settings.mode == "AlwaysAllow":
            return
        attributes = request_attributes(method, path, self.node_name)
        key = (user.name, user.groups, *attributes.values())
        cached = self._decisions.get(key)
        if cached is not None and cached[0] > time.monotonic():
            allowed, reason = cached[1], cached[2]
        else:
            allowed, reason = await self._review(user, attributes)
            ttl = self.settings.authorized_ttl if allowed else self.settings.unauthorized_ttl
            if len(self._decisions) > AUTHN_CACHE_LIMIT:
                self._decisions.clear()
            self._decisions[key] = (time.monotonic() + ttl, allowed, reason)
        if not allowed:
            log.info("forbidden: user=%s %s %s: %s", user.name, method, path, reason)
            raise web.HTTPForbidden(text=(
                f"Forbidden (user={user.name}, verb={attributes['verb']}, resource=nodes, "
                f"subresource(s)=[{attributes['subresource']}])\n"))

    async def _review(self, user: User, attributes: dict[str, Any]) -> tuple[bool, str]:
        if self.api is None:
            return False, "no API client to ask"
        spec: dict[str, Any] = {"user": user.name, "groups": list(user.groups),
                                "resourceAttributes": attributes}
        if user.uid:
            spec["uid"] = user.uid
        if user.extra:
            spec["extra"] = dict(user.extra)
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": spec}
        try:
            answer = await self.api.request(
                "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=review)
        except api_errors.APIError as exc:
            log.warning("SubjectAccessReview failed: %s", exc)
            return False, f"SubjectAccessReview failed: {exc}"
        status = answer.get("status") or {}
        return bool(status.get("allowed")), str(status.get("reason", ""))


def server_ssl_context(cert_file: str, key_file: str, client_ca_file: str) -> ssl.SSLContext:
    """TLS for 10250: our serving pair; client certificates asked for, checked against the CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    if client_ca_file:
        context.load_verify_locations(client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context
