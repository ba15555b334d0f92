"""`Client`: async REST for the Kubernetes API over one pooled aiohttp session.

Objects are plain JSON dicts (what the server sends, nothing hidden). Every request passes the
client's QPS/burst bucket, carries our User-Agent and credentials, and turns an error answer into
a typed `APIError` (429 and 5xx with Retry-After are retried a few times first, as client-go
does). Only upstream wire facts are used: paths, query names, patch media types, Status bodies.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp

from kubeadmpy.client import errors
from kubeadmpy.client.clock import Clock, RealClock
from kubeadmpy.client.config import ClientConfig
from kubeadmpy.client.discovery import Discovery
from kubeadmpy.client.ratelimit import TokenBucket
from kubeadmpy.client.resources import ResourceInfo
from kubeadmpy.client.watch import WatchStream

log = logging.getLogger(__name__)

JSON = "application/json"
JSONObject = dict[str, Any]
ResourceRef = ResourceInfo | str
MAX_RETRY_AFTER = 30.0


class PatchType(StrEnum):
    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


@dataclass(frozen=True)
class ObjectList:
    """One page of a list: items, the list's resourceVersion and the continue token."""

    items: list[JSONObject]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


@dataclass(frozen=True)
class Preconditions:
    """DELETE only if the object still has this uid / resourceVersion (409 otherwise)."""

    uid: str = ""
    resource_version: str = ""


def _retry_after(header: str | None) -> float | None:
    try:
        return float(header) if header else None
    except ValueError:
        return None


class Client:
    """Use as `async with Client(config) as client:`; one per process is plenty."""

    def __init__(self, config: ClientConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or RealClock()
        self.limiter = TokenBucket(config.qps, config.burst, self.clock)
        self.discovery = Discovery(self)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self.config.ssl_context() or False, limit=256,
                                             keepalive_timeout=60)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.config.user_agent})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- raw requests --------------------------------------------------------------------------

    def _headers(self, accept: str, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        token = self.config.bearer_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _request_kwargs(self) -> dict[str, Any]:
        return {"server_hostname": self.config.tls_server_name} \
            if self.config.tls_server_name else {}

    async def request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None,
                      body: Any = None, content_type: str = JSON, accept: str = JSON,
                      read_timeout: float | None = None) -> Any:
        """One API call; the decoded JSON answer (text for non-JSON answers)."""
        data = None if body is None else (
            body if isinstance(body, bytes) else json.dumps(body).encode())
        params = _query(query)
        attempt = 0
        while True:
            await self.limiter.acquire()
            session = self._open()
            try:
                async with session.request(
                        method, self.config.server + path, params=params, data=data,
                        headers=self._headers(accept, content_type if data is not None else None),
                        timeout=aiohttp.ClientTimeout(total=read_timeout or
                                                      self.config.request_timeout),
                        **self._request_kwargs()) as response:
                    raw = await response.read()
                    if response.status < 400:
                        return _decode(raw, response.headers.get("Content-Type", ""))
                    error = _error(response.status, raw, response.headers)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise errors.TransportError(0, "", f"{method} {path}: {exc!r}") from exc
            if isinstance(error, errors.TooManyRequests | errors.ServerError) and \
                    error.retry_after is not None and attempt < self.config.max_retries:
                attempt += 1
                log.info("%s %s: %s; retrying in %.1fs", method, path, error.reason,
                         error.retry_after)
                await self.clock.sleep(min(error.retry_after, MAX_RETRY_AFTER))
                continue
            raise error

    async def open_stream(self, path: str, query: Mapping[str, Any],
                          read_timeout: float | None) -> aiohttp.ClientResponse:
        """A streaming GET (watch); the caller must release the response."""
        await self.limiter.acquire()
        session = self._open()
        try:
            response = await session.get(
                self.config.server + path, params=_query(query),
                headers=self._headers(JSON, None),
                timeout=aiohttp.ClientTimeout(total=read_timeout, sock_connect=30),
                **self._request_kwargs())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise errors.TransportError(0, "", f"GET {path} (watch): {exc!r}") from exc
        if response.status >= 400:
            raw = await response.read()
            response.release()
            raise _error(response.status, raw, response.headers)
        return response

    # --- resources -------------------------------------------------------------------------------

    async def resolve(self, ref: ResourceRef) -> ResourceInfo:
        """A ResourceInfo for `pods`, `Deployment`, `deployments.apps`, `apps/v1/Deployment`...
        (built-ins from the static table, anything else through discovery)."""
        return ref if isinstance(ref, ResourceInfo) else await self.discovery.resolve(ref)

    def _namespace(self, info: ResourceInfo, namespace: str | None,
                   body: Mapping[str, Any] | None = None) -> str | None:
        if not info.namespaced:
            return None
        if namespace:
            return namespace
        meta = (body or {}).get("metadata") or {}
        return str(meta.get("namespace") or self.config.namespace)

    async def get(self, ref: ResourceRef, name: str, namespace: str | None = None, *,
                  subresource: str = "") -> JSONObject:
        info = await self.resolve(ref)
        path = info.object_path(name, self._namespace(info, namespace), subresource)
        result: JSONObject = await self.request("GET", path)
        return result

    async def list(self, ref: ResourceRef, namespace: str | None = None, *,
                   label_selector: str = "", field_selector: str = "", limit: int = 0,
                   continue_token: str = "", resource_version: str | None = None,
                   resource_version_match: str = "") -> ObjectList:
        """One page; namespace None lists across all namespaces."""
        info = await self.resolve(ref)
        body = await self.request("GET", info.collection_path(namespace), query={
            "labelSelector": label_selector, "fieldSelector": field_selector,
            "limit": limit or None, "continue": continue_token,
            "resourceVersion": resource_version, "resourceVersionMatch": resource_version_match})
        meta = body.get("metadata") or {}
        remaining = meta.get("remainingItemCount")
        items = body.get("items") or []
        kind = info.kind
        for item in items:  # list items come without kind/apiVersion; fill them in
            item.setdefault("kind", kind)
            item.setdefault("apiVersion", info.api_version)
        return ObjectList(items, str(meta.get("resourceVersion", "")),
                          str(meta.get("continue") or ""),
                          int(remaining) if isinstance(remaining, int) else None)

    async def list_all(self, ref: ResourceRef, namespace: str | None = None, *,
                       label_selector: str = "", field_selector: str = "", page_size: int = 500,
                       resource_version: str | None = None) -> ObjectList:
        """Every item, following continue tokens; the resourceVersion is the first page's."""
        items: list[JSONObject] = []
        first_rv, token = "", ""
        async for page in self.pages(ref, namespace, label_selector=label_selector,
                                     field_selector=field_selector, page_size=page_size,
                                     resource_version=resource_version):
            items.extend(page.items)
            first_rv = first_rv or page.resource_version
            token = page.continue_token
        return ObjectList(items, first_rv, token)

    async def pages(self, ref: ResourceRef, namespace: str | None = None, *,
                    label_selector: str = "", field_selector: str = "", page_size: int = 500,
                    resource_version: str | None = None) -> AsyncIterator[ObjectList]:
        token = ""
        while True:
            page = await self.list(ref, namespace, label_selector=label_selector,
                                   field_selector=field_selector, limit=page_size,
                                   continue_token=token,
                                   resource_version=None if token else resource_version)
            yield page
            if not page.continue_token:
                return
            token = page.continue_token

    async def create(self, ref: ResourceRef, body: JSONObject, namespace: str | None = None, *,
                     subresource: str = "", name: str = "", dry_run: bool = False,
                     field_manager: str = "", field_validation: str = "") -> JSONObject:
        """POST to the collection (or to `<name>/<subresource>`, e.g. binding, eviction)."""
        info = await self.resolve(ref)
        ns = self._namespace(info, namespace, body)
        path = info.object_path(name, ns, subresource) if subresource else \
            info.collection_path(ns)
        result: JSONObject = await self.request("POST", path, body=body, query=_write_query(
            dry_run, field_manager, field_validation))
        return result

    async def update(self, ref: ResourceRef, body: JSONObject, namespace: str | None = None,
                     *, subresource: str = "", dry_run: bool = False, field_manager: str = "",
                     field_validation: str = "") -> JSONObject:
        """PUT; carries body's metadata.resourceVersion, so a stale copy raises `Conflict`."""
        info = await self.resolve(ref)
        name = _required_name(body, "update")
        path = info.object_path(name, self._namespace(info, namespace, body), subresource)
        result: JSONObject = await self.request("PUT", path, body=body, query=_write_query(
            dry_run, field_manager, field_validation))
        return result

    async def update_status(self, ref: ResourceRef, body: JSONObject,
                            namespace: str | None = None) -> JSONObject:
        return await self.update(ref, body, namespace, subresource="status")

    async def patch(self, ref: ResourceRef, name: str, patch: Any,
                    namespace: str | None = None, *,
                    patch_type: PatchType = PatchType.STRATEGIC, subresource: str = "",
                    field_manager: str = "", force: bool | None = None, dry_run: bool = False,
                    field_validation: str = "") -> JSONObject:
        info = await self.resolve(ref)
        if patch_type is PatchType.APPLY and not field_manager:
            raise errors.BadRequest(400, "", "server-side apply needs a field manager: pass "
                                    "field_manager=<your component's name>")
        query = _write_query(dry_run, field_manager, field_validation)
        if force is not None:
            query["force"] = "true" if force else "false"
        result: JSONObject = await self.request(
            "PATCH", info.object_path(name, self._namespace(info, namespace), subresource),
            body=patch, content_type=str(patch_type), query=query)
        return result

    async def apply(self, ref: ResourceRef, body: JSONObject, namespace: str | None = None, *,
                    field_manager: str, force: bool = False, subresource: str = "",
                    dry_run: bool = False) -> JSONObject:
        """Server-side apply of the full intent `body` (creates the object if missing)."""
        name = _required_name(body, "apply")
        return await self.patch(ref, name, body, self._namespace(
            await self.resolve(ref), namespace, body), patch_type=PatchType.APPLY,
            subresource=subresource, field_manager=field_manager, force=force, dry_run=dry_run)

    async def delete(self, ref: ResourceRef, name: str, namespace: str | None = None, *,
                     propagation_policy: str = "", grace_period_seconds: int | None = None,
                     preconditions: Preconditions | None = None, dry_run: bool = False
                     ) -> JSONObject:
        """DELETE with DeleteOptions; the answer is a Status or the (terminating) object."""
        info = await self.resolve(ref)
        options = delete_options(propagation_policy, grace_period_seconds, preconditions,
                                 dry_run)
        result: JSONObject = await self.request(
            "DELETE", info.object_path(name, self._namespace(info, namespace)), body=options)
        return result

    def watch(self, ref: ResourceRef, namespace: str | None = None, *,
              resource_version: str = "", label_selector: str = "", field_selector: str = "",
              allow_bookmarks: bool = True, timeout_seconds: int | None = None,
              send_initial_events: bool = False) -> WatchStream:
        """`async with client.watch(...) as events: async for event in events: ...`"""
        query: dict[str, Any] = {
            "watch": "true", "resourceVersion": resource_version,
            "labelSelector": label_selector, "fieldSelector": field_selector,
            "allowWatchBookmarks": "true" if allow_bookmarks else None,
            "timeoutSeconds": timeout_seconds}
        if send_initial_events:
            query["sendInitialEvents"] = "true"
            query["resourceVersionMatch"] = "NotOlderThan"
        return WatchStream(self, ref, namespace, query, timeout_seconds)

    # --- subresource helpers ---------------------------------------------------------------------

    async def bind(self, namespace: str, pod: str, node: str) -> JSONObject:
        """POST pods/binding: what a scheduler does to place a pod."""
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": pod, "namespace": namespace},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        return await self.create("pods", body, namespace, name=pod, subresource="binding")

    async def evict(self, namespace: str, pod: str, *, grace_period_seconds: int | None = None
                    ) -> JSONObject:
        """POST pods/eviction (policy/v1); a PodDisruptionBudget refusal is TooManyRequests."""
        body: JSONObject = {"apiVersion": "policy/v1", "kind": "Eviction",
                            "metadata": {"name": pod, "namespace": namespace}}
        if grace_period_seconds is not None:
            body["deleteOptions"] = {"gracePeriodSeconds": grace_period_seconds}
        return await self.create("pods", body, namespace, name=pod, subresource="eviction")

    async def scale(self, ref: ResourceRef, name: str, replicas: int,
                    namespace: str | None = None) -> JSONObject:
        """Merge-patch the scale subresource, like `kubectl scale`."""
        return await self.patch(ref, name, {"spec": {"replicas": replicas}}, namespace,
                                patch_type=PatchType.MERGE, subresource="scale")

    async def version(self) -> JSONObject:
        result: JSONObject = await self.request("GET", "/version")
        return result


def delete_options(propagation_policy: str = "", grace_period_seconds: int | None = None,
                   preconditions: Preconditions | None = None, dry_run: bool = False
                   ) -> JSONObject:
    options: JSONObject = {"kind": "DeleteOptions", "apiVersion": "v1"}
    if propagation_policy:
        if propagation_policy not in ("Background", "Foreground", "Orphan"):
            raise errors.BadRequest(400, "", f"propagationPolicy {propagation_policy!r} is not "
                                    "one of Background, Foreground, Orphan")
        options["propagationPolicy"] = propagation_policy
    if grace_period_seconds is not None:
        options["gracePeriodSeconds"] = grace_period_seconds
    if preconditions is not None:
        options["preconditions"] = {k: v for k, v in (
            ("uid", preconditions.uid), ("resourceVersion", preconditions.resource_version)) if v}
    if dry_run:
        options["dryRun"] = ["All"]
    return options


def _required_name(body: Mapping[str, Any], verb: str) -> str:
    name = str((body.get("metadata") or {}).get("name") or "")
    if not name:
        raise errors.BadRequest(400, "", f"{verb} needs metadata.name in the body (got "
                                f"{dict(body.get('metadata') or {})!r})")
    return name


def _query(query: Mapping[str, Any] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (query or {}).items() if v not in (None, "")}


def _write_query(dry_run: bool, field_manager: str, field_validation: str) -> dict[str, str]:
    query = {}
    if dry_run:
        query["dryRun"] = "All"
    if field_manager:
        query["fieldManager"] = field_manager
    if field_validation:
        query["fieldValidation"] = field_validation
    return query


def _decode(raw: bytes, content_type: str) -> Any:
    if not raw:
        return {}
    if "json" in content_type or raw[:1] in (b"{", b"["):
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise errors.ServerError(500, "", f"the server sent invalid JSON: {exc}") from exc
    return raw.decode(errors="replace")


def _error(code: int, raw: bytes, headers: Mapping[str, str]) -> errors.APIError:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    text = raw.decode(errors="replace").strip()[:500]
    return errors.from_status(code, body, retry_after=_retry_after(headers.get("Retry-After")),
                              fallback_message=text)


async def sleep_backoff(clock: Clock, attempt: int, base: float = 0.2, cap: float = 5.0) -> None:
    """Exponential back-off between reconnects (used by informers and the elector)."""
    await clock.sleep(min(cap, base * (2 ** min(attempt, 10))))

