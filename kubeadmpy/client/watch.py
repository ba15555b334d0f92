"""A watch as a typed event stream: `async with client.watch(...) as events: async for e in ...`.

The wire format is one JSON `WatchEvent` per line over a chunked response. Lines are split here
rather than with the stream reader's `readline`, whose buffer limit (128 KiB) a large object would
exceed. An `ERROR` event ends the stream with the typed error from its Status — `Gone` for 410,
which tells an informer to list again. BOOKMARK events are passed through: their
resourceVersion is where a resumed watch should start.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from kubeadmpy.client import errors

if TYPE_CHECKING:
    from kubeadmpy.client.resources import ResourceInfo
    from kubeadmpy.client.rest import Client

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass(frozen=True)
class WatchEvent:
    type: str
    object: dict[str, Any]

    @property
    def resource_version(self) -> str:
        return str((self.object.get("metadata") or {}).get("resourceVersion") or "")

    @property
    def initial_events_end(self) -> bool:
        """A BOOKMARK closing the initial ADDED events of a sendInitialEvents watch."""
        annotations = (self.object.get("metadata") or {}).get("annotations") or {}
        return self.type == BOOKMARK and annotations.get(INITIAL_EVENTS_END) == "true"


class WatchStream:
    """Opened on `__aenter__`; iteration ends when the server closes the stream."""

    def __init__(self, client: Client, ref: ResourceInfo | str, namespace: str | None,
                 query: dict[str, Any], timeout_seconds: int | None) -> None:
        self._client = client
        self._ref = ref
        self._namespace = namespace
        self._query = query
        # Past the server's own timeout plus slack, the stream is dead even if TCP says not.
        self._timeout = None if timeout_seconds is None else timeout_seconds + 60.0
        self._response: aiohttp.ClientResponse | None = None
        self.resource_version = str(query.get("resourceVersion") or "")

    async def __aenter__(self) -> WatchStream:
        info = await self._client.resolve(self._ref)
        self._kind, self._api_version = info.kind, info.api_version
        self._response = await self._client.open_stream(
            info.collection_path(self._namespace), self._query, self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._response is not None:
            self._response.close()  # not release(): an unread stream cannot be reused
            self._response = None

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[WatchEvent]:
        if self._response is None:
            raise RuntimeError("use `async with client.watch(...)` before iterating")
        buffer = b""
        try:
            async for chunk in self._response.content.iter_any():
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield self._event(line)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise errors.TransportError(0, "", f"watch stream broke: {exc!r}") from exc
        if buffer.strip():
            yield self._event(buffer)

    def _event(self, line: bytes) -> WatchEvent:
        try:
            raw = json.loads(line)
            event = WatchEvent(str(raw["type"]), raw["object"])
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.ServerError(500, "", f"undecodable watch event: {line[:200]!r}") \
                from exc
        if event.type == ERROR:
            raise errors.from_status(int(event.object.get("code") or 500), event.object)
        event.object.setdefault("kind", self._kind)
        event.object.setdefault("apiVersion", self._api_version)
        if event.resource_version:
            self.resource_version = event.resource_version
        return event
