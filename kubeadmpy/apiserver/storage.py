"""Objects in etcd: keys, (de)serialisation, and compare-and-swap writes with API errors.

resourceVersion is never stored: it is the key's etcd mod revision, set when reading. Creates
are `create_revision == 0` transactions (409 AlreadyExists), updates and deletes compare the mod
revision they read (409 Conflict when a client's resourceVersion is stale; internal retries when
the server itself raced another writer).
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from kubeadmpy.apiserver.etcd import (
    EtcdClient,
    EtcdCompacted,
    EtcdError,
    EtcdUnavailable,
    KeyValue,
    prefix_end,
)
from kubeadmpy.machinery import jsonvalues, status
from kubeadmpy.machinery.registry import JSONObject, ResourceSpec
from kubeadmpy.security.encryption import (
    IDENTITY,
    DecryptionError,
    EncryptionTransformers,
    ValueTransformer,
)

MAX_UPDATE_RETRIES = 16


def encode(obj: JSONObject) -> bytes:
    meta = obj.get("metadata", {})
    if "resourceVersion" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "resourceVersion"}}
    return jsonvalues.dumps(obj)


def decode(kv: KeyValue, revision: int | None = None) -> JSONObject:
    return decode_value(kv.value, revision or kv.mod_revision)


def decode_value(value: bytes, revision: int) -> JSONObject:
    obj: JSONObject = orjson.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj


class Codec:
    """Objects ⇄ etcd values for one resource, through its encryption-at-rest transformer
    (the etcd key is the authenticated context, so a value cannot be moved to another key)."""

    def __init__(self, transformer: ValueTransformer = IDENTITY) -> None:
        self.transformer = transformer

    def seal(self, key: str, obj: JSONObject) -> bytes:
        return self.transformer.to_storage(encode(obj), key.encode())

    def open(self, kv: KeyValue) -> JSONObject:
        try:
            plain = self.transformer.from_storage(kv.value, kv.key.encode()).data
        except DecryptionError as exc:
            raise status.internal_error(f"{kv.key}: {exc}") from exc
        return decode_value(plain, kv.mod_revision)


@dataclass(frozen=True)
class ListPage:
    items: list[JSONObject]
    revision: int
    continue_token: str
    remaining: int


def encode_continue(revision: int, start_after: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start_after + "\0"})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        revision = int(raw["rv"])
        if not 0 < revision < 2**63:  # etcd revisions are positive int64
            raise ValueError(f"revision {revision} out of range")
        return revision, str(raw["start"])
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
        raise status.bad_request(f"continue key is not valid: {token!r}") from exc


def translate(exc: EtcdError) -> status.APIStatusError:
    if isinstance(exc, EtcdUnavailable):
        return status.service_unavailable(f"etcd is unavailable: {exc}")
    return status.internal_error(str(exc))


class Storage:
    """Typed object operations on etcd for any registered resource."""

    def __init__(self, etcd: EtcdClient,
                 encryption: EncryptionTransformers | None = None) -> None:
        self.etcd = etcd
        self.encryption = encryption or EncryptionTransformers(None)

    def codec(self, spec: ResourceSpec) -> Codec:
        return Codec(self.encryption.for_resource(spec.group_resource))

    async def _read(self, key: str) -> KeyValue | None:
        try:
            result = await self.etcd.range(key)
        except EtcdError as exc:
            raise translate(exc) from exc
        return result.kvs[0] if result.kvs else None

    async def get(self, spec: ResourceSpec, namespace: str, name: str) -> JSONObject:
        kv = await self._read(spec.key(namespace, name))
        if kv is None:
            raise status.not_found(spec.plural, spec.group, name)
        return self.codec(spec).open(kv)

    async def create(self, spec: ResourceSpec, obj: JSONObject, *, dry_run: bool = False
                     ) -> JSONObject:
        meta = obj["metadata"]
        key = spec.key(meta.get("namespace", ""), meta["name"])
        if dry_run:
            if await self._read(key) is not None:
                raise status.already_exists(spec.plural, spec.group, meta["name"])
            return obj
        try:
            result = await self.etcd.create(key, self.codec(spec).seal(key, obj))
        except EtcdError as exc:
            raise translate(exc) from exc
        if not result.succeeded:
            raise status.already_exists(spec.plural, spec.group, meta["name"])
        meta["resourceVersion"] = str(result.revision)
        return obj

    async def update(
        self, spec: ResourceSpec, namespace: str, name: str,
        mutate: Callable[[JSONObject], Awaitable[JSONObject | None]], *, dry_run: bool = False,
    ) -> tuple[JSONObject, JSONObject]:
        """Read, mutate (async; returns the new object or None to delete nothing), CAS-write.

        `mutate` receives a private copy; it raises 409 itself when the client's RV is stale.
        Races with other writers are retried here. Returns (new, old).
        """
        key = spec.key(namespace, name)
        for _ in range(MAX_UPDATE_RETRIES):
            kv = await self._read(key)
            if kv is None:
                raise status.not_found(spec.plural, spec.group, name)
            old = self.codec(spec).open(kv)
            new = await mutate(copy.deepcopy(old))
            if new is None or dry_run:
                return (new or old), old
            try:
                result = await self.etcd.update(key, self.codec(spec).seal(key, new),
                                                kv.mod_revision)
            except EtcdError as exc:
                raise translate(exc) from exc
            if result.succeeded:
                new["metadata"]["resourceVersion"] = str(result.revision)
                return new, old
        raise status.conflict(spec.plural, spec.group, name, status.STALE_OBJECT)

    async def delete(self, spec: ResourceSpec, obj: JSONObject) -> int:
        """Delete the object if it is still at the resourceVersion `obj` carries."""
        meta = obj["metadata"]
        key = spec.key(meta.get("namespace", ""), meta["name"])
        try:
            result = await self.etcd.delete(key, int(meta["resourceVersion"]))
        except EtcdError as exc:
            raise translate(exc) from exc
        if not result.succeeded:
            if result.current is None:
                raise status.not_found(spec.plural, spec.group, meta["name"])
            raise status.conflict(spec.plural, spec.group, meta["name"], status.STALE_OBJECT)
        return result.revision

    async def list(self, spec: ResourceSpec, namespace: str, *, revision: int = 0,
                   limit: int = 0, continue_token: str = "") -> ListPage:
        """A consistent read from etcd (all pages at the first page's revision)."""
        prefix = spec.key_prefix(namespace)
        start = prefix
        if continue_token:
            revision, after = decode_continue(continue_token)
            start = prefix + after
        try:
            result = await self.etcd.range(start, prefix_end(prefix), revision=revision,
                                           limit=limit + 1 if limit else 0)
        except EtcdCompacted as exc:
            raise status.gone("The resourceVersion for the provided list is too old.") from exc
        except EtcdError as exc:
            raise translate(exc) from exc
        revision = revision or result.revision
        kvs = result.kvs
        token, remaining = "", 0
        if limit and len(kvs) > limit:
            kvs = kvs[:limit]
            token = encode_continue(revision, kvs[-1].key[len(prefix):])
            remaining = max(result.count - limit, 0)
        codec = self.codec(spec)
        return ListPage([codec.open(kv) for kv in kvs], revision, token, remaining)

    async def put_raw(self, key: str, value: Any) -> int:
        return await self.etcd.put(key, json.dumps(value).encode())
