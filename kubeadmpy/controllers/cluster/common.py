"""Small helpers the cluster controllers share: object access, conditions, idempotent writes.

Controllers re-read state from informer caches and write through the client; the helpers here
keep that code short without hiding what is sent (objects stay plain JSON dicts).
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubeadmpy.client import errors
from kubeadmpy.client.rest import Client, Preconditions, ResourceRef
from kubeadmpy.paths import HostPaths

log = logging.getLogger(__name__)
JSONObject = dict[str, Any]


def meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def name_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("name") or "")


def namespace_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("namespace") or "")


def spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, dict) else {}


def status(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("status")
    return value if isinstance(value, dict) else {}


def is_terminating(obj: Mapping[str, Any]) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def writable(obj: Mapping[str, Any]) -> JSONObject:
    """A deep copy to change: cached objects are shared with every other controller."""
    return copy.deepcopy(dict(obj))


def rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def condition(obj: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    for entry in status(obj).get("conditions") or []:
        if isinstance(entry, dict) and entry.get("type") == kind:
            return entry
    return None


def owner_reference(owner: Mapping[str, Any], *, controller: bool = True) -> JSONObject:
    return {"apiVersion": owner.get("apiVersion", "v1"), "kind": owner.get("kind", ""),
            "name": name_of(owner), "uid": meta(owner).get("uid", ""),
            "controller": controller, "blockOwnerDeletion": True}


async def create_if_missing(client: Client, ref: ResourceRef, body: JSONObject,
                            namespace: str | None = None) -> bool:
    """Create `body`; False when it already exists (another worker or a restart got there)."""
    try:
        await client.create(ref, body, namespace)
    except errors.AlreadyExists:
        return False
    return True


async def delete_if_present(client: Client, ref: ResourceRef, name: str,
                            namespace: str | None = None, *, uid: str = "") -> bool:
    """Delete; False if it was already gone. With `uid`, only that incarnation is deleted."""
    try:
        await client.delete(ref, name, namespace,
                            preconditions=Preconditions(uid=uid) if uid else None)
    except errors.NotFound:
        return False
    return True


def host_file(root_dir: Path, logical: str) -> Path:
    """Where a flag's logical path (e.g. /etc/kubernetes/pki/ca.crt) is on this host."""
    if not logical.startswith("/"):
        return Path(logical)  # relative to the working directory, as upstream reads it
    return HostPaths(root_dir).host(logical)


class Disabled:
    """What a factory returns when upstream would not start its controller (a flag it needs
    is unset): says so once, then idles until the manager stops."""

    def __init__(self, name: str, why: str) -> None:
        self.name = name
        self.why = why

    async def run(self) -> None:
        log.info("%s: not started: %s", self.name, self.why)
        await asyncio.Event().wait()
