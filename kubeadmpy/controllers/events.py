"""Events the workload controllers write, as upstream's recorders do (`kubectl describe`).

Each controller records under its own component name (`deployment-controller`,
`replicaset-controller`, ...): e.g. Normal ScalingReplicaSet "Scaled up replica set web-5d8f
to 5 from 0", Normal SuccessfulCreate "Created pod: web-5d8f-x7k2p". Events are written in the
background — a failed Event write is logged, never fails or slows a reconcile — and kept as
plain core/v1 Events with involvedObject, source and first/last timestamps.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from kubeadmpy.client import errors
from kubeadmpy.client.events import involved_object, new_event
from kubeadmpy.client.rest import Client

log = logging.getLogger(__name__)
JSONObject = dict[str, Any]
MAX_PENDING = 1000  # beyond this, events are dropped rather than piling up tasks


class EventRecorder:
    def __init__(self, client: Client, component: str) -> None:
        self.client = client
        self.component = component
        self._pending: set[asyncio.Task[None]] = set()

    def normal(self, obj: JSONObject, reason: str, message: str) -> None:
        self._record(obj, "Normal", reason, message)

    def warning(self, obj: JSONObject, reason: str, message: str) -> None:
        self._record(obj, "Warning", reason, message)

    def _record(self, obj: JSONObject, kind: str, reason: str, message: str) -> None:
        if len(self._pending) >= MAX_PENDING:
            log.debug("%s: dropping event %s %s", self.component, reason, message)
            return
        task = asyncio.get_running_loop().create_task(
            self._write(event(obj, kind, reason, message, self.component)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write(self, body: JSONObject) -> None:
        try:
            await self.client.create("events", body, body["metadata"]["namespace"])
        except errors.APIError as exc:
            log.debug("%s: event %s not written: %s", self.component, body["reason"], exc)


def event(obj: JSONObject, kind: str, reason: str, message: str, component: str) -> JSONObject:
    return new_event(involved_object(obj), event_type=kind, reason=reason, message=message,
                     component=component, now=datetime.now(UTC))
