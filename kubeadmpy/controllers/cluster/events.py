"""Events the cluster controllers record, shaped as upstream's record.EventRecorder writes them
(core/v1 Events named `<object>.<hex nanoseconds>`, source component, first/last timestamps), so
`kubectl describe node` and `kubectl get events` show why a node went NotReady or a pod was
evicted. Recording is best effort: a failed write is logged and never fails a reconcile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from kubeadmpy.client import errors
from kubeadmpy.client.clock import Clock
from kubeadmpy.client.rest import Client
from kubeadmpy.controllers.cluster.common import JSONObject, meta, rfc3339

log = logging.getLogger(__name__)
NORMAL, WARNING = "Normal", "Warning"


def event_for(obj: Mapping[str, Any], *, component: str, event_type: str, reason: str,
              message: str, stamp: str, unique: int) -> JSONObject:
    object_meta = meta(obj)
    name = str(object_meta.get("name") or "")
    namespace = str(object_meta.get("namespace") or "") or "default"
    involved = {"kind": obj.get("kind", ""), "apiVersion": obj.get("apiVersion", "v1"),
                "name": name, "uid": object_meta.get("uid", ""),
                "resourceVersion": object_meta.get("resourceVersion", "")}
    if object_meta.get("namespace"):
        involved["namespace"] = object_meta["namespace"]
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{name}.{unique:x}", "namespace": namespace},
            "involvedObject": involved, "reason": reason, "message": message,
            "type": event_type, "source": {"component": component},
            "reportingComponent": component, "reportingInstance": "",
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1}


class EventRecorder:
    def __init__(self, client: Client, component: str, clock: Clock) -> None:
        self.client = client
        self.component = component
        self.clock = clock

    async def record(self, obj: Mapping[str, Any], event_type: str, reason: str,
                     message: str) -> None:
        body = event_for(obj, component=self.component, event_type=event_type, reason=reason,
                         message=message, stamp=rfc3339(self.clock.wall()),
                         unique=time.time_ns())
        try:
            await self.client.create("events", body, body["metadata"]["namespace"])
        except errors.APIError as exc:
            log.warning("could not record event %s on %s: %s", reason,
                        body["involvedObject"]["name"], exc)
