"""A watch cache per resource: one etcd watch feeds memory; lists and watches are served from it.

Why: every informer (scheduler, controllers, kubelets, `kubectl get -w`) watches; opening one etcd
watch per client and decoding each event once per client would not scale. The cache keeps the
current objects plus a window of recent events, so a watch can start from any resourceVersion
inside the window; an older one gets 410 Expired and the client relists.

Recovery: when the etcd watch breaks (etcd restart) the cache resumes from its last revision, so
no event is lost and client watches stay open. When etcd compacted past that revision the cache
relists and ends every client watch; clients resume from their resourceVersion or get 410.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from kubeadmpy.apiserver.etcd import EtcdClient, EtcdCompacted, EtcdError, KeyValue, prefix_end
from kubeadmpy.apiserver.storage import Codec
from kubeadmpy.machinery import jsonvalues
from kubeadmpy.machinery.registry import JSONObject, ResourceSpec
from kubeadmpy.machinery.selectors import FieldSelector, LabelSelector
from kubeadmpy.machinery.status import APIStatusError

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 10_000
WATCHER_QUEUE_LIMIT = 10_000


@dataclass
class CacheEvent:
    """One change at `revision`; `prev` is the object before it (None for creations)."""

    revision: int
    type: str  # ADDED | MODIFIED | DELETED
    key: str
    obj: JSONObject
    prev: JSONObject | None
    _json: bytes | None = field(default=None, repr=False)

    def object_json(self) -> bytes:
        if self._json is None:
            self._json = jsonvalues.dumps(self.obj)
        return self._json


@dataclass(frozen=True)
class WatchFilter:
    namespace: str = ""
    labels: LabelSelector = field(default_factory=LabelSelector)
    fields: FieldSelector = field(default_factory=FieldSelector)

    def matches(self, spec: ResourceSpec, obj: JSONObject | None) -> bool:
        if obj is None:
            return False
        meta = obj.get("metadata", {})
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        if not self.labels.empty and not self.labels.matches(meta.get("labels")):
            return False
        return self.fields.empty or self.fields.matches(spec.fields_of(obj))


class WatchClosed(Exception):
    """Sentinel put in a watcher's queue when the cache ends it (relist, overflow, shutdown)."""


@dataclass(eq=False)
class Watcher:
    """A client watch registered with the cache; events arrive already filtered and typed."""

    filter: WatchFilter
    after: int
    queue: asyncio.Queue[tuple[str, CacheEvent] | None] = field(default_factory=asyncio.Queue)
    closed: bool = False

    def offer(self, kind: str, event: CacheEvent) -> bool:
        if self.queue.qsize() >= WATCHER_QUEUE_LIMIT:
            return False
        self.queue.put_nowait((kind, event))
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class TooOld(Exception):
    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


class WatchCache:
    """Current objects and recent events of one resource, kept in step with etcd."""

    def __init__(self, spec: ResourceSpec, etcd: EtcdClient, window: int = DEFAULT_WINDOW,
                 codec: Codec | None = None) -> None:
        self.spec = spec
        self.codec = codec or Codec()
        self.etcd = etcd
        self.prefix = spec.key_prefix()
        self.objects: dict[str, JSONObject] = {}
        self.revision = 0
        self.window: deque[CacheEvent] = deque(maxlen=window)
        self.window_start = 0  # every event with revision > window_start is in the window
        self.watchers: set[Watcher] = set()
        self.ready = asyncio.Event()
        self._changed = asyncio.Condition()
        self.on_event: Callable[[CacheEvent], None] | None = None
        self.on_reset: Callable[[list[JSONObject]], None] | None = None
        self._progress: asyncio.Queue[None] = asyncio.Queue(maxsize=1)

    async def _relist(self, replay: bool = False) -> None:
        """Load the objects; with `replay`, as of an older revision so that the watch that
        follows refills the event window from etcd's history. That lets clients resume across
        an apiserver restart from the resourceVersion they had instead of getting 410."""
        end = prefix_end(self.prefix)
        result, revision = None, 0
        if replay:
            current = (await self.etcd.range(self.prefix, end, count_only=True)).revision
            revision = max(current - (self.window.maxlen or DEFAULT_WINDOW), 1)
            with contextlib.suppress(EtcdCompacted):
                result = await self.etcd.range(self.prefix, end, revision=revision)
        if result is None:
            result = await self.etcd.range(self.prefix, end)
            revision = result.revision
        self.objects = {kv.key: obj for kv in result.kvs
                        if (obj := self._open(kv)) is not None}
        self.revision = revision
        self.window.clear()
        self.window_start = revision
        for watcher in list(self.watchers):
            watcher.close()
        self.watchers.clear()
        if self.on_reset is not None:
            self.on_reset(list(self.objects.values()))
        self.ready.set()

    async def run(self) -> None:
        """Keep the cache in step with etcd forever (cancel to stop)."""
        backoff = 0.1
        need_list, first = True, True
        while True:
            try:
                if need_list:
                    await self._relist(replay=first)
                    need_list = first = False
                async for batch in self.etcd.watch(self.prefix, self.revision + 1,
                                                   self._progress):
                    backoff = 0.1
                    for event in batch.events:
                        self._apply(event.type, event.kv.key, event.kv, event.prev)
                    if batch.revision > self.revision and not batch.events:
                        self.revision = batch.revision  # progress notification
                    async with self._changed:
                        self._changed.notify_all()
            except EtcdCompacted:
                log.warning("watch cache %s: revision %d compacted, relisting",
                            self.spec.group_resource, self.revision)
                need_list = True
            except EtcdError as exc:
                log.warning("watch cache %s: %s; retrying", self.spec.group_resource, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    def _apply(self, etcd_type: str, key: str, kv: KeyValue, prev_kv: KeyValue | None) -> None:
        revision = kv.mod_revision
        prev = self.objects.get(key)
        if etcd_type == "DELETE":
            if prev is None:
                if prev_kv is None:
                    return
                prev = self._open(prev_kv)
                if prev is None:
                    return
            obj = {**prev, "metadata": {**prev.get("metadata", {}),
                                        "resourceVersion": str(revision)}}
            self.objects.pop(key, None)
            event = CacheEvent(revision, "DELETED", key, obj, prev)
        else:
            opened = self._open(kv)
            if opened is None:
                return
            obj = opened
            self.objects[key] = obj
            event = CacheEvent(revision, "MODIFIED" if prev is not None else "ADDED", key, obj,
                               prev)
        if len(self.window) == self.window.maxlen:
            self.window_start = self.window[0].revision
        self.window.append(event)
        self.revision = max(self.revision, revision)
        self._dispatch(event)
        if self.on_event is not None:
            self.on_event(event)

    def _open(self, kv: KeyValue) -> JSONObject | None:
        """A stored value as an object; one that cannot be read is logged and skipped, so a
        single bad value cannot stop the cache (reads of it fail with 500 instead)."""
        try:
            return self.codec.open(kv)
        except APIStatusError as exc:
            log.error("watch cache %s: %s", self.spec.group_resource, exc.message)
            return None

    def _dispatch(self, event: CacheEvent) -> None:
        for watcher in list(self.watchers):
            kind = self._event_for(watcher, event)
            if kind is None:
                continue
            if not watcher.offer(kind, event):
                log.warning("watch cache %s: closing a watcher that fell behind",
                            self.spec.group_resource)
                self.watchers.discard(watcher)
                watcher.close()

    def _event_for(self, watcher: Watcher, event: CacheEvent) -> str | None:
        """The event type this watcher sees: selector transitions become ADDED/DELETED."""
        if event.revision <= watcher.after:
            return None
        now = event.type != "DELETED" and watcher.filter.matches(self.spec, event.obj)
        before = watcher.filter.matches(self.spec, event.prev)
        if event.type == "DELETED":
            return "DELETED" if before else None
        if now and before:
            return "MODIFIED"
        if now:
            return "ADDED"
        if before:
            return "DELETED"
        return None

    async def wait_fresh(self, revision: int, wait_seconds: float = 3.0) -> bool:
        """Wait until the cache has seen `revision`; False on timeout."""
        await self.ready.wait()
        if self.revision >= revision:
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_seconds), self._changed:
                await self._changed.wait_for(lambda: self.revision >= revision)
        return self.revision >= revision

    async def fresh_as_of(self, revision: int, wait_seconds: float) -> bool:
        """Whether the cache has caught up with etcd's `revision`, asking etcd for a progress
        notification when no event brought it there (quiet resources get no events)."""
        if self.ready.is_set() and self.revision >= revision:
            return True
        with contextlib.suppress(asyncio.QueueFull):
            self._progress.put_nowait(None)
        return await self.wait_fresh(revision, wait_seconds)

    def items(self, flt: WatchFilter, first: int = 0) -> list[JSONObject]:
        """Matching objects in key order; with `first`, only that many (cheaper to pick)."""
        return [obj for _, obj in self.matching(flt, first)[0]]

    def matching(self, flt: WatchFilter, first: int = 0
                 ) -> tuple[list[tuple[str, JSONObject]], int]:
        """(the first `first` (key, object) pairs in key order — all if 0 —, total matches)."""
        prefix = self.spec.key_prefix(flt.namespace)
        name = flt.fields.exact_name()
        if name is not None and (flt.namespace or not self.spec.namespaced):
            obj = self.objects.get(prefix + name)
            found = [(prefix + name, obj)] if obj is not None and flt.matches(self.spec, obj) \
                else []
            return found, len(found)
        found = [(key, obj) for key, obj in self.objects.items()
                 if key.startswith(prefix) and flt.matches(self.spec, obj)]
        if first and first < len(found):
            return heapq.nsmallest(first, found, key=lambda pair: pair[0]), len(found)
        found.sort(key=lambda pair: pair[0])
        return found, len(found)

    def watch(self, flt: WatchFilter, after: int | None) -> Watcher:
        """Register a watcher for events after revision `after` (None: current state first).

        Runs without awaiting, so no event can slip between the replay and the registration.
        """
        if after is None:
            watcher = Watcher(flt, self.revision)
            for obj in self.items(flt):
                watcher.offer("ADDED", CacheEvent(self.revision, "ADDED", "", obj, None))
        else:
            if after < self.window_start:
                raise TooOld(after, self.window_start)
            watcher = Watcher(flt, after)
            for event in self.window:
                kind = self._event_for(watcher, event)
                if kind is not None:
                    watcher.offer(kind, event)
        self.watchers.add(watcher)
        return watcher

    def stop_watching(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)
        watcher.closed = True
