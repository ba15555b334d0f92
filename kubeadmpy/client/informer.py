"""Informers: a cache kept in step with the API server by list-then-watch, with event handlers.

The loop is client-go's reflector: list (served from the watch cache, `resourceVersion=0`), then
watch from the list's resourceVersion with bookmarks on; when the stream ends or breaks, watch
again from the last resourceVersion seen (events or bookmarks), so an API server or etcd restart
loses nothing; when the server answers 410 Gone, list again and turn the difference into
add/update/delete notifications so handlers converge. Handlers are plain functions called in
order on the informer's task: keep them short (typically: put a key in a work queue).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubeadmpy.client import errors
from kubeadmpy.client.cache import IndexFunc, Store, object_key
from kubeadmpy.client.clock import Clock, RealClock
from kubeadmpy.client.resources import ResourceInfo
from kubeadmpy.client.rest import Client, ResourceRef, sleep_backoff
from kubeadmpy.client.watch import ADDED, BOOKMARK, DELETED, MODIFIED

log = logging.getLogger(__name__)
JSONObject = dict[str, Any]


@dataclass(frozen=True)
class EventHandler:
    on_add: Callable[[JSONObject], None] | None = None
    on_update: Callable[[JSONObject, JSONObject], None] | None = None
    on_delete: Callable[[JSONObject], None] | None = None


@dataclass(frozen=True)
class InformerOptions:
    namespace: str | None = None
    label_selector: str = ""
    field_selector: str = ""
    # client-go picks a random watch timeout in [5, 10) minutes so reconnects spread out.
    watch_timeout: tuple[int, int] = (300, 600)
    page_size: int = 500


class Informer:
    def __init__(self, client: Client, ref: ResourceRef, options: InformerOptions | None = None,
                 indexers: dict[str, IndexFunc] | None = None, clock: Clock | None = None
                 ) -> None:
        self.client = client
        self.ref = ref
        self.options = options or InformerOptions()
        self.store = Store(indexers)
        self.clock = clock or RealClock()
        self._handlers: list[EventHandler] = []
        self._synced = asyncio.Event()
        self.resource_version = ""
        self.lists = 0  # how many times a full list was done (1 + relists after 410)
        self.watches = 0

    # --- consumers -------------------------------------------------------------------------------

    def add_handler(self, handler: EventHandler) -> None:
        """Register handlers; objects already cached are replayed to it as adds."""
        self._handlers.append(handler)
        if handler.on_add is not None:
            for obj in self.store.list():
                self._call(handler.on_add, obj)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    # --- the loop ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """List and watch until cancelled."""
        info = await self._resolve()
        need_list, list_rv, failures, idle = True, "0", 0, 0
        while True:
            try:
                if need_list:
                    await self._list(info, list_rv)
                    need_list = False
                if await self._watch(info):
                    idle = 0
                else:  # a stream that ends with nothing in it must not become a busy loop
                    await sleep_backoff(self.clock, idle)
                    idle += 1
                failures = 0
            except errors.Gone as exc:
                log.info("informer %s: %s; listing again", info.qualified, exc.message)
                need_list, list_rv = True, ""
            except errors.APIError as exc:
                log.warning("informer %s: %s; retrying", info.qualified, exc)
                await sleep_backoff(self.clock, failures)
                failures += 1

    async def _resolve(self) -> ResourceInfo:
        failures = 0
        while True:
            try:
                return await self.client.resolve(self.ref)
            except errors.APIError as exc:
                log.warning("informer %s: cannot resolve: %s", self.ref, exc)
                await sleep_backoff(self.clock, failures)
                failures += 1

    async def _list(self, info: ResourceInfo, resource_version: str) -> None:
        opts = self.options
        result = await self.client.list_all(
            info, opts.namespace, label_selector=opts.label_selector,
            field_selector=opts.field_selector, page_size=opts.page_size,
            resource_version=resource_version)
        self.lists += 1
        self._replace(result.items)
        self.resource_version = result.resource_version
        self._synced.set()

    async def _watch(self, info: ResourceInfo) -> int:
        """Apply one watch stream's events; how many events (bookmarks included) it had."""
        opts = self.options
        self.watches += 1
        count = 0
        async with self.client.watch(
                info, opts.namespace, resource_version=self.resource_version,
                label_selector=opts.label_selector, field_selector=opts.field_selector,
                allow_bookmarks=True, timeout_seconds=random.randint(*opts.watch_timeout)
        ) as events:
            async for event in events:
                count += 1
                if event.type == BOOKMARK:
                    pass
                elif event.type in (ADDED, MODIFIED):
                    self._upsert(event.object)
                elif event.type == DELETED:
                    self._delete(object_key(event.object), event.object)
                if event.resource_version:
                    self.resource_version = event.resource_version
        return count

    # --- cache changes + notifications ---------------------------------------------------------

    def _replace(self, items: list[JSONObject]) -> None:
        fresh = {object_key(obj): obj for obj in items}
        for key in [k for k in self.store.keys() if k not in fresh]:  # noqa: SIM118
            gone = self.store.get(key)
            assert gone is not None
            self._delete(key, gone)
        for obj in fresh.values():
            old = self.store.get(object_key(obj))
            if old is None or _rv(old) != _rv(obj):
                self._upsert(obj)

    def _upsert(self, obj: JSONObject) -> None:
        old = self.store.upsert(obj)
        for handler in self._handlers:
            if old is None and handler.on_add is not None:
                self._call(handler.on_add, obj)
            elif old is not None and handler.on_update is not None:
                self._call(handler.on_update, old, obj)

    def _delete(self, key: str, last: JSONObject) -> None:
        if self.store.remove(key) is None:
            return
        for handler in self._handlers:
            if handler.on_delete is not None:
                self._call(handler.on_delete, last)

    def _call(self, func: Callable[..., None], *args: JSONObject) -> None:
        try:
            func(*args)
        except Exception:  # one broken handler must not stop the cache for everyone
            log.exception("informer %s: event handler %r failed", self.ref, func)


def _rv(obj: JSONObject) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class SharedInformerFactory:
    """One informer per (resource, namespace, selectors), shared by every controller.

    `run()` starts every informer registered so far and any registered while it runs, all in
    one task group; cancelling `run()` stops them.
    """

    def __init__(self, client: Client, *, watch_timeout: tuple[int, int] = (300, 600)) -> None:
        self.client = client
        self.watch_timeout = watch_timeout
        self._informers: dict[tuple[str, str | None, str, str], Informer] = {}
        self._group: asyncio.TaskGroup | None = None

    def informer(self, ref: ResourceRef, *, namespace: str | None = None,
                 label_selector: str = "", field_selector: str = "",
                 indexers: dict[str, IndexFunc] | None = None) -> Informer:
        name = ref.qualified if isinstance(ref, ResourceInfo) else ref
        key = (name, namespace, label_selector, field_selector)
        informer = self._informers.get(key)
        if informer is None:
            informer = Informer(self.client, ref, InformerOptions(
                namespace, label_selector, field_selector, self.watch_timeout), indexers)
            self._informers[key] = informer
            if self._group is not None:
                self._group.create_task(informer.run())
        else:
            for index, func in (indexers or {}).items():
                informer.store.add_indexer(index, func)
        return informer

    @property
    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            self._group = group
            try:
                for informer in list(self._informers.values()):
                    group.create_task(informer.run())
                await asyncio.Event().wait()  # until cancelled
            finally:
                self._group = None

    def has_synced(self) -> bool:
        return all(i.has_synced() for i in self._informers.values())

    async def wait_synced(self) -> None:
        for informer in list(self._informers.values()):
            await informer.wait_synced()
