"""The one controller shape: informers → work queue of keys → `async def reconcile(request)`.

Business code writes only `reconcile`: it receives namespace/name, re-reads what it needs from
the informers' caches (level-triggered: the event that caused the call is deliberately not
passed), makes one step of change and returns a `Result`. The engine owns the queue and the
workers: workers start only after every watched informer has synced; a raised exception is
retried with per-key back-off; a `TerminalError` is logged and dropped; `Result(requeue_after=s)`
comes back after s seconds. Each call gets a reconcile id, in every log line of that call.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kubeadmpy.client.clock import Clock
from kubeadmpy.client.informer import EventHandler, Informer
from kubeadmpy.client.ratelimit import RateLimiter
from kubeadmpy.client.workqueue import ShutDown, WorkQueue

log = logging.getLogger(__name__)
JSONObject = dict[str, Any]

reconcile_id: contextvars.ContextVar[str] = contextvars.ContextVar("reconcile_id", default="")


class ReconcileIdFilter(logging.Filter):
    """Adds `reconcile_id` to every log record, so a handler's format can show which
    reconcile call a line (including the business code's own lines) belongs to, e.g.
    `%(asctime)s %(name)s [%(reconcile_id)s] %(message)s`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.reconcile_id = reconcile_id.get() or "-"
        return True


@dataclass(frozen=True, order=True)
class Request:
    """What to reconcile: only the object's identity, never a stale copy of it."""

    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @classmethod
    def of(cls, obj: JSONObject) -> Request:
        meta = obj.get("metadata") or {}
        return cls(str(meta.get("namespace") or ""), str(meta.get("name") or ""))


@dataclass(frozen=True)
class Result:
    """`requeue_after`: reconcile this key again after that many seconds (e.g. a timeout)."""

    requeue_after: float | None = None


class TerminalError(Exception):
    """Retrying cannot help (bad spec, unsupported request): logged, then the key is dropped."""


Reconcile = Callable[[Request], Awaitable[Result | None]]
Mapper = Callable[[JSONObject], Iterable[Request]]


def own_request(obj: JSONObject) -> list[Request]:
    return [Request.of(obj)]


def owner_requests(kind: str) -> Mapper:
    """Map an object to its controlling owner of `kind` (e.g. a Pod → its ReplicaSet)."""
    def mapper(obj: JSONObject) -> list[Request]:
        meta = obj.get("metadata") or {}
        return [Request(str(meta.get("namespace") or ""), str(ref.get("name")))
                for ref in meta.get("ownerReferences") or []
                if ref.get("controller") and ref.get("kind") == kind]
    return mapper


class Controller:
    def __init__(self, name: str, reconcile: Reconcile, *, workers: int = 1,
                 rate_limiter: RateLimiter | None = None, clock: Clock | None = None) -> None:
        if workers < 1:
            raise ValueError(f"controller {name}: workers must be at least 1, got {workers}")
        self.name = name
        self.reconcile = reconcile
        self.workers = workers
        self.queue: WorkQueue[Request] = WorkQueue(rate_limiter, clock)
        self._informers: list[Informer] = []
        self._ids = itertools.count(1)
        self.reconciles = 0
        self.failures = 0
        self.started = asyncio.Event()

    def watch(self, informer: Informer, mapper: Mapper = own_request) -> None:
        """Enqueue the requests `mapper` derives from every add, update and delete."""
        def enqueue(obj: JSONObject) -> None:
            for request in mapper(obj):
                self.queue.add(request)

        self._informers.append(informer)
        informer.add_handler(EventHandler(on_add=enqueue, on_update=lambda _old, new:
                                          enqueue(new), on_delete=enqueue))

    async def run(self) -> None:
        """Wait for the caches, then run the workers until cancelled (the queue then drains
        nothing more: in-flight reconciles are cancelled with the task group)."""
        for informer in self._informers:
            await informer.wait_synced()
        log.info("controller %s: caches synced, starting %d worker(s)", self.name, self.workers)
        self.started.set()
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.workers):
                    group.create_task(self._worker())
        finally:
            self.queue.shut_down()

    async def _worker(self) -> None:
        while True:
            try:
                request = await self.queue.get()
            except ShutDown:
                return
            try:
                await self._process(request)
            finally:
                self.queue.done(request)

    async def _process(self, request: Request) -> None:
        rid = f"{self.name}-{next(self._ids)}"
        token = reconcile_id.set(rid)
        self.reconciles += 1
        try:
            log.debug("controller %s reconcileID=%s %s: reconciling", self.name, rid,
                      request.key)
            result = await self.reconcile(request)
        except TerminalError as exc:
            log.error("controller %s reconcileID=%s %s: giving up: %s", self.name, rid,
                      request.key, exc)
            self.queue.forget(request)
            return
        except Exception as exc:
            self.failures += 1
            log.warning("controller %s reconcileID=%s %s: %s (retry %d)", self.name, rid,
                        request.key, exc, self.queue.num_requeues(request) + 1,
                        exc_info=log.isEnabledFor(logging.DEBUG))
            self.queue.add_rate_limited(request)
            return
        finally:
            reconcile_id.reset(token)
        self.queue.forget(request)
        if result is not None and result.requeue_after is not None:
            self.queue.add_after(request, result.requeue_after)
