"""LIST and WATCH: ListOptions validation, resourceVersion semantics, pagination, selectors,
and the watch stream (one JSON WatchEvent per line, flushed per event, bookmarks, timeouts).

Where a list is served from: `resourceVersion=0` → the watch cache (any freshness); unset →
a consistent read from etcd (paginated with limit/continue); `N` + NotOlderThan → the cache once
it has seen N, else etcd; `N` + Exact → etcd at revision N (410 once compacted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from kubeadmpy.apiserver import negotiation, tables
from kubeadmpy.apiserver.etcd import EtcdError
from kubeadmpy.apiserver.storage import Storage, encode_continue, translate
from kubeadmpy.apiserver.watchcache import CacheEvent, TooOld, WatchCache, WatchFilter
from kubeadmpy.machinery import status
from kubeadmpy.machinery.registry import JSONObject, ResourceSpec
from kubeadmpy.machinery.selectors import parse_field_selector, parse_label_selector
from kubeadmpy.machinery.status import Cause

log = logging.getLogger(__name__)

BOOKMARK_INTERVAL_SECONDS = 30.0
CONSISTENT_READ_WAIT_SECONDS = 0.25
DEFAULT_WATCH_SECONDS = 1800.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass(frozen=True)
class ListOptions:
    filter: WatchFilter
    resource_version: str
    match: str
    limit: int
    continue_token: str
    watch: bool
    bookmarks: bool
    timeout_seconds: int | None
    send_initial_events: bool | None


def _invalid(message: str, field: str) -> status.APIStatusError:
    return status.invalid("ListOptions", "meta.k8s.io", "",
                          [Cause("FieldValueInvalid", message, field)])


def parse_list_options(spec: ResourceSpec, namespace: str, query: Any) -> ListOptions:
    labels = parse_label_selector(query.get("labelSelector", ""))
    fields = parse_field_selector(query.get("fieldSelector", ""), spec.field_labels())
    rv = query.get("resourceVersion", "")
    match = query.get("resourceVersionMatch", "")
    watch = negotiation.parse_bool(query, "watch")
    initial = (negotiation.parse_bool(query, "sendInitialEvents")
               if "sendInitialEvents" in query else None)
    limit = negotiation.parse_int(query, "limit") or 0
    cont = query.get("continue", "")
    if rv and not (rv.isascii() and rv.isdigit() and int(rv) < 2**63):  # etcd's int64
        raise status.bad_request(f'invalid resource version "{rv}"')
    if match:
        if match not in ("Exact", "NotOlderThan"):
            raise _invalid(f'Unsupported value: "{match}": supported values: "Exact", '
                           '"NotOlderThan"', "resourceVersionMatch")
        if watch and initial is None:
            raise _invalid("Forbidden: resourceVersionMatch is forbidden for watch unless "
                           "sendInitialEvents is provided", "resourceVersionMatch")
        if not rv and not watch:
            raise _invalid("Forbidden: resourceVersionMatch is forbidden unless "
                           "resourceVersion is provided", "resourceVersionMatch")
        if cont:
            raise _invalid("Forbidden: resourceVersionMatch is forbidden when continue is "
                           "provided", "resourceVersionMatch")
        if match == "Exact" and rv == "0":
            raise _invalid('Forbidden: resourceVersionMatch "exact" is forbidden for '
                           'resourceVersion "0"', "resourceVersionMatch")
    if initial is not None and not watch:
        raise _invalid("Forbidden: sendInitialEvents is forbidden for list",
                       "sendInitialEvents")
    if initial and match != "NotOlderThan":
        raise _invalid("Forbidden: sendInitialEvents requires setting resourceVersionMatch "
                       "to NotOlderThan", "resourceVersionMatch")
    if cont and rv and not watch:
        raise _invalid("Forbidden: specifying resource version is not allowed when using "
                       "continue", "resourceVersion")
    return ListOptions(WatchFilter(namespace, labels, fields), rv, match, max(limit, 0), cont,
                       watch, negotiation.parse_bool(query, "allowWatchBookmarks"),
                       negotiation.parse_int(query, "timeoutSeconds"), initial)


async def list_objects(storage: Storage, cache: WatchCache, options: ListOptions
                       ) -> tuple[list[JSONObject], JSONObject]:
    """(items, list metadata) for a LIST request."""
    spec, rv = cache.spec, options.resource_version
    await cache.ready.wait()
    if rv == "0" and not options.continue_token:
        return _page_from_cache(cache, options)
    if rv == "" and not options.continue_token:
        # A consistent read served from memory once the cache provably holds everything up to
        # etcd's current revision (upstream's ConsistentListFromCache); else read etcd.
        try:
            current = await storage.etcd.current_revision()
        except EtcdError as exc:
            raise translate(exc) from exc
        if await cache.fresh_as_of(current, CONSISTENT_READ_WAIT_SECONDS):
            return _page_from_cache(cache, options)
    if rv and not options.continue_token and options.match != "Exact" and not (
            options.limit and not options.match):
        wanted = int(rv)
        if await cache.wait_fresh(wanted, 0.2):
            return cache.items(options.filter), {"resourceVersion": str(cache.revision)}
        try:
            current = await storage.etcd.current_revision()
        except EtcdError as exc:
            raise translate(exc) from exc
        if wanted > current:
            raise status.resource_version_too_large(wanted, current)
        rv = ""
    revision = int(rv) if rv else 0
    items: list[JSONObject] = []
    token, remaining = options.continue_token, 0
    list_revision = 0
    while True:
        page = await storage.list(spec, options.filter.namespace, revision=revision,
                                  limit=options.limit, continue_token=token)
        list_revision = revision = page.revision
        items += [o for o in page.items if options.filter.matches(spec, o)]
        token, remaining = page.continue_token, page.remaining
        if not token or not options.limit or len(items) >= options.limit:
            break
    meta: JSONObject = {"resourceVersion": str(list_revision)}
    if token:
        meta["continue"] = token
        if options.filter.labels.empty and options.filter.fields.empty and remaining:
            meta["remainingItemCount"] = remaining
    return items, meta


def _page_from_cache(cache: WatchCache, options: ListOptions
                     ) -> tuple[list[JSONObject], JSONObject]:
    """A list from memory; with `limit`, the first page here and the rest from etcd at the
    cache's revision (the token carries it), so every page shows the same moment."""
    pairs, total = cache.matching(options.filter, options.limit)
    meta: JSONObject = {"resourceVersion": str(cache.revision)}
    if options.limit and total > options.limit:
        prefix = cache.spec.key_prefix(options.filter.namespace)
        meta["continue"] = encode_continue(cache.revision, pairs[-1][0][len(prefix):])
        if options.filter.labels.empty and options.filter.fields.empty:
            meta["remainingItemCount"] = total - options.limit
    return [obj for _, obj in pairs], meta


def list_body(spec: ResourceSpec, items: list[JSONObject], meta: JSONObject,
              fmt: negotiation.ResponseFormat, include: str) -> JSONObject:
    if fmt.table:
        return tables.to_table(spec, items, include=include, list_meta=meta)
    if fmt.partial_metadata:
        return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                "metadata": meta, "items": [tables.partial_metadata(o) for o in items]}
    return {"kind": spec.list_kind, "apiVersion": spec.api_version, "metadata": meta,
            "items": items}


class WatchEncoder:
    """Turns cache events into WatchEvent lines in the negotiated form."""

    def __init__(self, spec: ResourceSpec, fmt: negotiation.ResponseFormat, include: str) -> None:
        self.spec, self.fmt, self.include = spec, fmt, include
        self._headers_sent = False

    def _object(self, obj: JSONObject) -> JSONObject:
        if self.fmt.table:
            table = tables.to_table(self.spec, [obj], include=self.include,
                                    list_meta={"resourceVersion": obj["metadata"].get(
                                        "resourceVersion", "")},
                                    headers=not self._headers_sent)
            self._headers_sent = True
            return table
        if self.fmt.partial_metadata:
            return tables.partial_metadata(obj)
        return obj

    def event(self, kind: str, event: CacheEvent) -> bytes:
        if not self.fmt.table and not self.fmt.partial_metadata:
            return b'{"type":"' + kind.encode() + b'","object":' + event.object_json() + b"}\n"
        return negotiation.dumps({"type": kind, "object": self._object(event.obj)}) + b"\n"

    def bookmark(self, revision: int, initial_end: bool = False) -> bytes:
        meta: JSONObject = {"resourceVersion": str(revision)}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        return negotiation.dumps({"type": "BOOKMARK", "object": {
            "kind": self.spec.kind, "apiVersion": self.spec.api_version,
            "metadata": meta}}) + b"\n"

    @staticmethod
    def error(error: status.APIStatusError) -> bytes:
        return negotiation.dumps({"type": "ERROR", "object": error.to_status()}) + b"\n"


async def serve_watch(request: web.Request, storage: Storage, cache: WatchCache,
                      options: ListOptions, fmt: negotiation.ResponseFormat, include: str
                      ) -> web.StreamResponse:
    """Stream events; once the 200 is sent every failure is reported as an ERROR event."""
    response = web.StreamResponse(status=200, headers={"Content-Type": negotiation.JSON})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        await _stream(response, storage, cache, options, WatchEncoder(cache.spec, fmt, include))
    except status.APIStatusError as exc:
        await response.write(WatchEncoder.error(exc))
    except ConnectionError:  # the client went away mid-stream: a normal end of a watch
        log.debug("watch on %s: client disconnected", cache.spec.group_resource)
        return response
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # never a second HTTP response inside a started stream
        log.exception("watch on %s failed", cache.spec.group_resource)
        with contextlib.suppress(ConnectionResetError):
            await response.write(WatchEncoder.error(status.internal_error(repr(exc))))
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response


async def _stream(response: web.StreamResponse, storage: Storage, cache: WatchCache,
                  options: ListOptions, encoder: WatchEncoder) -> None:
    await cache.ready.wait()
    rv = options.resource_version
    after: int | None = None if rv in ("", "0") or options.send_initial_events else int(rv)
    if after is not None and after > cache.revision and not await cache.wait_fresh(after, 0.2):
        try:
            current = await storage.etcd.current_revision()
        except EtcdError as exc:
            raise translate(exc) from exc
        if after > current:
            raise status.resource_version_too_large(after, current)
    try:
        watcher = cache.watch(options.filter, after)
    except TooOld as exc:
        raise status.gone(str(exc)) from exc
    deadline = time.monotonic() + (options.timeout_seconds
                                   if options.timeout_seconds else DEFAULT_WATCH_SECONDS)
    initial_pending = bool(options.send_initial_events and options.bookmarks)
    last_sent = watcher.after
    try:
        while True:
            if initial_pending and watcher.queue.empty():
                await response.write(encoder.bookmark(max(cache.revision, last_sent), True))
                initial_pending = False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(min(remaining, BOOKMARK_INTERVAL_SECONDS)):
                    item = await watcher.queue.get()
            except TimeoutError:
                if options.bookmarks and cache.revision >= last_sent:
                    last_sent = cache.revision
                    await response.write(encoder.bookmark(last_sent))
                continue
            if item is None:
                break
            kind, event = item
            last_sent = max(last_sent, event.revision)
            chunk = [encoder.event(kind, event)]
            # Drain what is already queued into one write: fewer syscalls under fan-out.
            while not watcher.queue.empty() and len(chunk) < 256:
                nxt = watcher.queue.get_nowait()
                if nxt is None:
                    watcher.queue.put_nowait(None)
                    break
                last_sent = max(last_sent, nxt[1].revision)
                chunk.append(encoder.event(*nxt))
            await response.write(b"".join(chunk))
    finally:
        cache.stop_watching(watcher)
