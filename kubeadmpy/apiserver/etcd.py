"""The etcd v3 adapter: the only module that speaks to etcd.

It speaks etcd's native gRPC API (KV Range/Put/Txn/DeleteRange/Compact and the Watch stream)
over grpc.aio with TLS client certificates, using the message stubs of the `aetcd` package
(aetcd's own client only opens insecure channels, so it cannot talk to a kubeadm etcd). Measured
here against etcd 3.4 (TLS, 32 in flight): gRPC puts cost etcd about half the CPU of the
grpc-gateway JSON API (/v3/kv/*) and the client about half as well, at ~2.5x the throughput —
see benchmarks/bench_apiserver.py. Every etcd or transport failure is translated here into
`EtcdUnavailable` / `EtcdCompacted` / `EtcdError`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc
from aetcd import rpc

from kubeadmpy.errors import KubeadmpyError

_COMPACTED = "required revision has been compacted"
_UNAVAILABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.CANCELLED)
_DELETE_EVENT = 1  # mvccpb.Event.EventType.DELETE


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


def prefix_end(prefix: str) -> str:
    """The range end that selects every key starting with `prefix`."""
    raw = bytearray(prefix.encode())
    raw[-1] += 1
    return raw.decode()


def _kv(raw: Any) -> KeyValue:
    return KeyValue(raw.key.decode(), bytes(raw.value), int(raw.create_revision),
                    int(raw.mod_revision))


@dataclass(frozen=True)
class EtcdTLS:
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""

    def credentials(self) -> grpc.ChannelCredentials:
        def read(path: str) -> bytes | None:
            return Path(path).read_bytes() if path else None
        return grpc.ssl_channel_credentials(read(self.ca_file), read(self.key_file),
                                            read(self.cert_file))


def _translate(exc: grpc.aio.AioRpcError, what: str) -> EtcdError:
    details = exc.details() or ""
    if _COMPACTED in details:
        return EtcdCompacted(0)
    if exc.code() in _UNAVAILABLE:
        return EtcdUnavailable(f"etcd is unavailable ({what}): {details}")
    return EtcdError(f"etcd {what}: {exc.code().name}: {details}")


class EtcdClient:
    """Async etcd v3 KV + watch client over gRPC, with endpoint failover."""

    def __init__(self, endpoints: Sequence[str], tls: EtcdTLS | None = None,
                 request_timeout: float = 10.0) -> None:
        if not endpoints:
            raise ValueError("at least one etcd endpoint is required")
        self._tls = tls or EtcdTLS()
        self._endpoints = list(endpoints)
        self._current = 0
        self._timeout = request_timeout
        self._channels: dict[str, grpc.aio.Channel] = {}

    async def __aenter__(self) -> EtcdClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _channel(self, endpoint: str) -> grpc.aio.Channel:
        channel = self._channels.get(endpoint)
        if channel is None:
            url = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
            target = f"{url.hostname}:{url.port or 2379}"
            # Reconnect quickly after an etcd restart (gRPC's default backoff grows to 120 s).
            options = [("grpc.max_receive_message_length", 64 * 1024 * 1024),
                       ("grpc.initial_reconnect_backoff_ms", 100),
                       ("grpc.min_reconnect_backoff_ms", 100),
                       ("grpc.max_reconnect_backoff_ms", 2000)]
            if url.scheme == "https":
                channel = grpc.aio.secure_channel(target, self._tls.credentials(), options)
            else:
                channel = grpc.aio.insecure_channel(target, options)
            self._channels[endpoint] = channel
        return channel

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()

    async def _kv_call(self, method: str, request: Any) -> Any:
        """A unary KV call, trying each endpoint once before giving up.

        Calls wait for a connection (wait_for_ready) within their share of the timeout, so a
        request arriving while etcd restarts is delayed rather than failed.
        """
        last: EtcdError | None = None
        share = self._timeout / len(self._endpoints)
        for attempt in range(len(self._endpoints)):
            index = (self._current + attempt) % len(self._endpoints)
            stub = rpc.KVStub(self._channel(self._endpoints[index]))
            try:
                response = await getattr(stub, method)(request, timeout=share,
                                                       wait_for_ready=True)
            except grpc.aio.AioRpcError as exc:
                last = _translate(exc, method)
                if isinstance(last, EtcdUnavailable):
                    continue
                raise last from exc
            self._current = index
            return response
        raise EtcdUnavailable(f"etcd is unavailable at {', '.join(self._endpoints)}: {last}") \
            from last

    async def range(self, key: str, range_end: str = "", *, revision: int = 0, limit: int = 0,
                    count_only: bool = False) -> RangeResult:
        response = await self._kv_call("Range", rpc.RangeRequest(
            key=key.encode(), range_end=range_end.encode(), revision=revision, limit=limit,
            count_only=count_only))
        return RangeResult(int(response.header.revision), [_kv(kv) for kv in response.kvs],
                           bool(response.more), int(response.count))

    async def current_revision(self) -> int:
        return (await self.range("\0", count_only=True)).revision

    async def put(self, key: str, value: bytes) -> int:
        response = await self._kv_call("Put", rpc.PutRequest(key=key.encode(), value=value))
        return int(response.header.revision)

    async def _txn(self, compare: Any, success: Any, key: str) -> TxnResult:
        response = await self._kv_call("Txn", rpc.TxnRequest(
            compare=[compare], success=[success],
            failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=key.encode()))]))
        revision = int(response.header.revision)
        if response.succeeded:
            return TxnResult(True, revision, None)
        current = None
        for op in response.responses:
            if op.response_range.kvs:
                current = _kv(op.response_range.kvs[0])
        return TxnResult(False, revision, current)

    async def create(self, key: str, value: bytes) -> TxnResult:
        """Put `key` only if it does not exist (create_revision == 0)."""
        return await self._txn(
            rpc.Compare(result=rpc.Compare.EQUAL, target=rpc.Compare.CREATE, key=key.encode(),
                        create_revision=0),
            rpc.RequestOp(request_put=rpc.PutRequest(key=key.encode(), value=value)), key)

    async def update(self, key: str, value: bytes, mod_revision: int) -> TxnResult:
        """Put `key` only if nobody wrote it since `mod_revision`."""
        return await self._txn(
            rpc.Compare(result=rpc.Compare.EQUAL, target=rpc.Compare.MOD, key=key.encode(),
                        mod_revision=mod_revision),
            rpc.RequestOp(request_put=rpc.PutRequest(key=key.encode(), value=value)), key)

    async def delete(self, key: str, mod_revision: int) -> TxnResult:
        """Delete `key` only if nobody wrote it since `mod_revision`."""
        return await self._txn(
            rpc.Compare(result=rpc.Compare.EQUAL, target=rpc.Compare.MOD, key=key.encode(),
                        mod_revision=mod_revision),
            rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key.encode())), key)

    async def delete_key(self, key: str) -> int:
        response = await self._kv_call("DeleteRange", rpc.DeleteRangeRequest(key=key.encode()))
        return int(response.header.revision)

    async def compact(self, revision: int) -> None:
        await self._kv_call("Compact", rpc.CompactionRequest(revision=revision, physical=True))

    async def watch(self, prefix: str, start_revision: int,
                    progress: asyncio.Queue[None] | None = None) -> AsyncIterator[WatchBatch]:
        """Stream changes under `prefix` from `start_revision` (inclusive) until the stream ends.

        Every item put in `progress` asks etcd for a progress notification: an empty batch at
        the current revision, sent once every event up to it has been delivered.
        Raises EtcdCompacted if the start is compacted, EtcdUnavailable when etcd goes away.
        """
        endpoint = self._endpoints[self._current]
        create = rpc.WatchRequest(create_request=rpc.WatchCreateRequest(
            key=prefix.encode(), range_end=prefix_end(prefix).encode(),
            start_revision=start_revision, prev_kv=True, progress_notify=True))
        held_open = asyncio.Event()

        async def requests() -> AsyncIterator[Any]:
            yield create
            # The request stream stays open (closing it would end the watch); it carries
            # progress requests when asked for.
            while not held_open.is_set():
                if progress is None:
                    await held_open.wait()
                    return
                wanted = asyncio.ensure_future(progress.get())
                closing = asyncio.ensure_future(held_open.wait())
                done, pending = await asyncio.wait({wanted, closing},
                                                   return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                if wanted in done:
                    yield rpc.WatchRequest(progress_request=rpc.WatchProgressRequest())

        call = rpc.WatchStub(self._channel(endpoint)).Watch(requests())
        try:
            async for response in call:
                if response.compact_revision:
                    raise EtcdCompacted(int(response.compact_revision))
                if response.canceled:
                    raise EtcdError(f"etcd cancelled the watch: {response.cancel_reason}")
                if response.created and not response.events:
                    continue
                events = [WatchEvent("DELETE" if event.type == _DELETE_EVENT else "PUT",
                                     _kv(event.kv),
                                     _kv(event.prev_kv) if event.HasField("prev_kv") else None)
                          for event in response.events]
                yield WatchBatch(int(response.header.revision), events)
        except grpc.aio.AioRpcError as exc:
            self._current = (self._current + 1) % len(self._endpoints)
            raise _translate(exc, "watch") from exc
        finally:
            held_open.set()
            call.cancel()
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
