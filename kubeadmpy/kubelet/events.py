"""Events the kubelet reports (Pulling, Started, BackOff, Killing...), written off the hot path.

Pod workers call `pod_event` and move on; one task writes the Events (core/v1, source
component "kubelet" and the node as host), folding repeats of the same reason and message for
the same object into a count, as upstream's event correlator does. A failed write is logged and
dropped: events are best effort.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubeadmpy.client import Client, Clock, PatchType, errors
from kubeadmpy.client.events import new_event, rfc3339

log = logging.getLogger(__name__)
JSONObject = dict[str, Any]
MAX_QUEUED = 1000


class Recorder:
    def __init__(self, client: Client, clock: Clock, node_name: str) -> None:
        self.client = client
        self.clock = clock
        self.node_name = node_name
        self._queue: asyncio.Queue[tuple[JSONObject, str, str, str]] = asyncio.Queue(MAX_QUEUED)
        self._written: dict[tuple[str, str, str], JSONObject] = {}

    def pod_event(self, pod: JSONObject, kind: str, reason: str, message: str) -> None:
        meta = pod.get("metadata") or {}
        involved = {"kind": "Pod", "apiVersion": "v1", "namespace": meta.get("namespace"),
                    "name": meta.get("name"), "uid": meta.get("uid")}
        self._put(involved, kind, reason, message)

    def node_event(self, kind: str, reason: str, message: str) -> None:
        involved = {"kind": "Node", "apiVersion": "v1", "name": self.node_name,
                    "uid": self.node_name}
        self._put(involved, kind, reason, message)

    def _put(self, involved: JSONObject, kind: str, reason: str, message: str) -> None:
        log.info("event %s %s/%s: %s %s", kind, involved.get("namespace") or "",
                 involved.get("name"), reason, message)
        try:
            self._queue.put_nowait((involved, kind, reason, message))
        except asyncio.QueueFull:
            log.warning("event queue full; dropping %s %s", reason, message)

    async def run(self) -> None:
        while True:
            involved, kind, reason, message = await self._queue.get()
            try:
                await self._write(involved, kind, reason, message)
            except errors.APIError as exc:
                log.debug("event %s for %s not written: %s", reason, involved.get("name"), exc)

    async def _write(self, involved: JSONObject, kind: str, reason: str, message: str) -> None:
        now = self.clock.wall()
        stamp = rfc3339(now)
        key = (str(involved.get("uid")), reason, message)
        namespace = str(involved.get("namespace") or "default")
        previous = self._written.get(key)
        if previous is not None:
            previous["count"] = int(previous.get("count", 1)) + 1
            previous["lastTimestamp"] = stamp
            try:
                self._written[key] = await self.client.patch(
                    "events", previous["metadata"]["name"],
                    {"count": previous["count"], "lastTimestamp": stamp}, namespace,
                    patch_type=PatchType.MERGE)
                return
            except errors.NotFound:
                pass
        body = new_event(involved, event_type=kind, reason=reason, message=message,
                         component="kubelet", now=now, host=self.node_name,
                         instance=self.node_name)
        created = await self.client.create("events", body, namespace)
        if len(self._written) > 5000:
            self._written.clear()
        self._written[key] = created
