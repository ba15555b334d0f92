"""The etcd v3 adapter: the only module that speaks to etcd.

It uses etcd's grpc-gateway JSON API (`/v3/kv/range|put|txn|deleterange`, streaming `/v3/watch`)
over aiohttp with TLS client certificates. That needs no gRPC stack, works with the etcd 3.4
Debian ships, and keeps one HTTP connection pool per apiserver. Every etcd or transport failure is
translated here into `EtcdUnavailable` / `EtcdCompacted` / `EtcdError`.
"""

from __future__ import annotations

import base64
import contextlib
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from kubeadmpy.errors import KubeadmpyError


class EtcdError(KubeadmpyError):
    """etcd answered with an error we do not handle specially."""


class EtcdUnavailable(EtcdError):
    """No endpoint answered (etcd down or restarting)."""


class EtcdCompacted(EtcdError):
    """The requested revision is older than etcd's compaction point."""

    def __init__(self, compact_revision: int) -> None:
        super().__init__(f"required revision has been compacted (compacted at {compact_revision})")
        self.compact_revision = compact_revision


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


@dataclass(frozen=True)
class RangeResult:
    revision: int
    kvs: list[KeyValue]
    more: bool
    count: int


@dataclass(frozen=True)
class TxnResult:
    succeeded: bool
    revision: int
    current: KeyValue | None  # the key as read in the failure branch


@dataclass(frozen=True)
class WatchEvent:
    type: str  # PUT | DELETE
    kv: KeyValue
    prev: KeyValue | None


@dataclass(frozen=True)
class WatchBatch:
    """One watch response: events (maybe none, for a progress notification) at `revision`."""

    revision: int
    events: list[WatchEvent]


def _b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def prefix_end(prefix: str) -> str:
    """The range end that selects every key starting with `prefix`."""
    raw = bytearray(prefix.encode())
    raw[-1] += 1
    return raw.decode()


def _kv(raw: dict[str, Any]) -> KeyValue:
    return KeyValue(
        key=base64.b64decode(raw["key"]).decode(),
        value=base64.b64decode(raw.get("value", "")),
        create_revision=int(raw.get("create_revision", 0)),
        mod_revision=int(raw.get("mod_revision", 0)),
    )


@dataclass(frozen=True)
class EtcdTLS:
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""

    def ssl_context(self) -> ssl.SSLContext | None:
        if not (self.ca_file or self.cert_file):
            return None
        context = ssl.create_default_context(cafile=self.ca_file or None)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file or None)
        return context


class EtcdClient:
    """Async etcd v3 KV + watch client over the JSON gateway, with endpoint failover."""

    def __init__(self, endpoints: Sequence[str], tls: EtcdTLS | None = None,
                 request_timeout: float = 10.0) -> None:
        if not endpoints:
            raise ValueError("at least one etcd endpoint is required")
        self._endpoints = [e.rstrip("/") for e in endpoints]
        self._current = 0
        self._ssl = (tls or EtcdTLS()).ssl_context()
        self._timeout = request_timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> EtcdClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl else False, limit=256)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        last: Exception | None = None
        for attempt in range(len(self._endpoints)):
            endpoint = self._endpoints[(self._current + attempt) % len(self._endpoints)]
            try:
                async with self._http().post(
                        f"{endpoint}{path}", data=orjson.dumps(body),
                        timeout=aiohttp.ClientTimeout(total=self._timeout)) as response:
                    payload: dict[str, Any] = orjson.loads(await response.read())
            except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
                last = exc
                continue
            self._current = (self._current + attempt) % len(self._endpoints)
            if "error" in payload or ("code" in payload and "header" not in payload):
                message = str(payload.get("error") or payload.get("message"))
                if "compacted" in message:
                    raise EtcdCompacted(0)
                raise EtcdError(f"etcd {path}: {message}")
            return payload
        raise EtcdUnavailable(f"etcd is unavailable at {', '.join(self._endpoints)}: {last}") \
            from last

    async def range(self, key: str, range_end: str = "", *, revision: int = 0, limit: int = 0,
                    count_only: bool = False) -> RangeResult:
        body: dict[str, Any] = {"key": _b64(key)}
        if range_end:
            body["range_end"] = _b64(range_end)
        if revision:
            body["revision"] = str(revision)
        if limit:
            body["limit"] = str(limit)
        if count_only:
            body["count_only"] = True
        payload = await self._call("/v3/kv/range", body)
        return RangeResult(int(payload["header"]["revision"]),
                           [_kv(kv) for kv in payload.get("kvs", [])],
                           bool(payload.get("more", False)), int(payload.get("count", 0)))

    async def current_revision(self) -> int:
        return (await self.range("\0", count_only=True)).revision

    async def put(self, key: str, value: bytes) -> int:
        payload = await self._call("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})
        return int(payload["header"]["revision"])

    async def _txn(self, compare: dict[str, Any], success: list[dict[str, Any]],
                   key: str) -> TxnResult:
        payload = await self._call("/v3/kv/txn", {
            "compare": [compare], "success": success,
            "failure": [{"request_range": {"key": _b64(key)}}]})
        revision = int(payload["header"]["revision"])
        if payload.get("succeeded"):
            return TxnResult(True, revision, None)
        current = None
        for response in payload.get("responses", []):
            kvs = response.get("response_range", {}).get("kvs", [])
            if kvs:
                current = _kv(kvs[0])
        return TxnResult(False, revision, current)

    async def create(self, key: str, value: bytes) -> TxnResult:
        """Put `key` only if it does not exist (create_revision == 0)."""
        return await self._txn(
            {"target": "CREATE", "key": _b64(key), "create_revision": "0", "result": "EQUAL"},
            [{"request_put": {"key": _b64(key), "value": _b64(value)}}], key)

    async def update(self, key: str, value: bytes, mod_revision: int) -> TxnResult:
        """Put `key` only if nobody wrote it since `mod_revision`."""
        return await self._txn(
            {"target": "MOD", "key": _b64(key), "mod_revision": str(mod_revision),
             "result": "EQUAL"},
            [{"request_put": {"key": _b64(key), "value": _b64(value)}}], key)

    async def delete(self, key: str, mod_revision: int) -> TxnResult:
        """Delete `key` only if nobody wrote it since `mod_revision`."""
        return await self._txn(
            {"target": "MOD", "key": _b64(key), "mod_revision": str(mod_revision),
             "result": "EQUAL"},
            [{"request_delete_range": {"key": _b64(key)}}], key)

    async def delete_key(self, key: str) -> int:
        payload = await self._call("/v3/kv/deleterange", {"key": _b64(key)})
        return int(payload["header"]["revision"])

    async def compact(self, revision: int) -> None:
        await self._call("/v3/kv/compaction", {"revision": str(revision), "physical": True})

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[WatchBatch]:
        """Stream changes under `prefix` from `start_revision` (inclusive) until the stream ends.

        Raises EtcdCompacted if the start is compacted, EtcdUnavailable when etcd goes away.
        """
        body = {"create_request": {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix)),
                                   "start_revision": str(start_revision), "prev_kv": True,
                                   "progress_notify": True}}
        endpoint = self._endpoints[self._current]
        try:
            async with self._http().post(f"{endpoint}/v3/watch", data=orjson.dumps(body),
                                         timeout=aiohttp.ClientTimeout(
                                             total=None, sock_connect=self._timeout)) as response:
                async for line in response.content:
                    if not line.strip():
                        continue
                    payload = orjson.loads(line)
                    if "error" in payload:
                        raise EtcdError(f"etcd watch: {payload['error']}")
                    result = payload.get("result", {})
                    if int(result.get("compact_revision", 0) or 0):
                        raise EtcdCompacted(int(result["compact_revision"]))
                    if result.get("canceled"):
                        raise EtcdError(f"etcd cancelled the watch: {result.get('cancel_reason')}")
                    if result.get("created"):
                        continue
                    events = []
                    for event in result.get("events", []):
                        prev = event.get("prev_kv")
                        events.append(WatchEvent(event.get("type", "PUT"), _kv(event["kv"]),
                                                 _kv(prev) if prev else None))
                    yield WatchBatch(int(result["header"]["revision"]), events)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self._current = (self._current + 1) % len(self._endpoints)
            raise EtcdUnavailable(f"etcd watch on {endpoint} ended: {exc}") from exc
        self._current = (self._current + 1) % len(self._endpoints)
        raise EtcdUnavailable(f"etcd watch on {endpoint} ended")


@contextlib.asynccontextmanager
async def etcd_client(endpoints: Sequence[str], tls: EtcdTLS | None = None
                      ) -> AsyncIterator[EtcdClient]:
    client = EtcdClient(endpoints, tls)
    try:
        yield client
    finally:
        await client.close()
