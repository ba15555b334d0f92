"""Events the cluster controllers record, shaped as upstream's record.EventRecorder writes them
(core/v1 Events named `<object>.<hex nanoseconds>`, source component, first/last timestamps), so
`kubectl describe node` and `kubectl get events` show why a node went NotReady or a pod was
evicted. Recording is best effort: a failed write is logged and never fails a reconcile.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kubeadmpy.client import errors
from kubeadmpy.client.clock import Clock
from kubeadmpy.client.events import NORMAL, WARNING, involved_object, new_event
from kubeadmpy.client.rest import Client

log = logging.getLogger(__name__)
__all__ = ["NORMAL", "WARNING", "EventRecorder"]


class EventRecorder:
    def __init__(self, client: Client, component: str, clock: Clock) -> None:
        self.client = client
        self.component = component
        self.clock = clock

    async def record(self, obj: Mapping[str, Any], event_type: str, reason: str,
                     message: str) -> None:
        body = new_event(involved_object(obj), event_type=event_type, reason=reason,
                         message=message, component=self.component, now=self.clock.wall())
        try:
            await self.client.create("events", body, body["metadata"]["namespace"])
        except errors.APIError as exc:
            log.warning("could not record event %s on %s: %s", reason,
                        body["involvedObject"]["name"], exc)
