"""The core/v1 Event every component writes, shaped as client-go's record.EventRecorder does.

`kubectl describe` and `kubectl get events` read these fields: the involved object (kind,
apiVersion, namespace, name, uid, resourceVersion), reason, message, type (Normal/Warning),
source component (and host for a kubelet), reporting component/instance, count and the first
and last timestamps. Names are `<object name>.<hex of the Unix time in nanoseconds>`, as
upstream's. Components differ only in how they write (in the background, aggregated, inline),
so this module builds the object and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

JSONObject = dict[str, Any]
NORMAL, WARNING = "Normal", "Warning"


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def involved_object(obj: Mapping[str, Any]) -> JSONObject:
    """The reference an Event keeps to `obj` (namespace only for namespaced objects)."""
    meta = obj.get("metadata") or {}
    involved: JSONObject = {"kind": obj.get("kind", ""), "apiVersion": obj.get("apiVersion", "v1"),
                            "name": meta.get("name", ""), "uid": meta.get("uid", "")}
    if meta.get("resourceVersion"):
        involved["resourceVersion"] = str(meta["resourceVersion"])
    if meta.get("namespace"):
        involved["namespace"] = meta["namespace"]
    return involved


def new_event(involved: Mapping[str, Any], *, event_type: str, reason: str, message: str,
              component: str, now: datetime, host: str = "", instance: str = "",
              action: str = "") -> JSONObject:
    """An Event about `involved` (see involved_object), in the object's namespace or default."""
    namespace = str(involved.get("namespace") or "default")
    source: JSONObject = {"component": component}
    if host:
        source["host"] = host
    event: JSONObject = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{involved.get('name')}.{time.time_ns():x}",
                     "namespace": namespace},
        "involvedObject": dict(involved), "reason": reason, "message": message,
        "type": event_type, "count": 1, "source": source,
        "reportingComponent": component, "reportingInstance": instance,
        "firstTimestamp": rfc3339(now), "lastTimestamp": rfc3339(now)}
    if action:
        event["action"] = action
        event["eventTime"] = micro_time(now)
    return event
