"""SPDY/3.1 framing, as Kubernetes streams use it (kubectl 1.27–1.29 exec/attach, port-forward,
and containerd's CRI streaming server).

No maintained Python SPDY library exists, so this module holds the wire format: 8-byte frame
headers, control frames (SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS,
WINDOW_UPDATE) and DATA frames, and header blocks compressed with zlib seeded by the SPDY/3
dictionary — one compression context per direction for the life of the connection.
`SpdySession` runs one connection as client or server (odd stream ids are the client's);
flow-control windows are not enforced, as Go's spdystream does not enforce them either.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import zlib
from dataclasses import dataclass, field
from typing import Protocol

SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = (
    1, 2, 3, 4, 6, 7, 8, 9)
FLAG_FIN = 0x01
VERSION = 3
MAX_FRAME_DATA = 0xFFFFFF

_WORDS = (  # noqa: SIM905 (one readable string rather than 65 literals)
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base "
    "content-encoding content-language content-length content-location content-md5 "
    "content-range content-type date etag expect expires from host if-match if-modified-since "
    "if-none-match if-range if-unmodified-since last-modified location max-forwards pragma "
    "proxy-authenticate proxy-authorization range referer retry-after server te trailer "
    "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status "
    "200_OK version HTTP/1.1 url public set-cookie keep-alive origin").split()
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 "
    "Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 "
    "Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, "
    "Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")


def _dictionary() -> bytes:
    """The SPDY/3 header dictionary: length-prefixed common words, then a raw tail."""
    out = bytearray()
    for word in _WORDS:
        raw = word.replace("_", " ").encode()
        out += struct.pack(">I", len(raw)) + raw
    return bytes(out) + _TAIL.encode()


HEADER_DICTIONARY = _dictionary()


class SpdyProtocolError(Exception):
    """The peer sent something that is not SPDY/3."""


Headers = dict[str, str]


class HeaderCodec:
    """Compression contexts of one connection (ours for writing, the peer's for reading)."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zdict=HEADER_DICTIONARY)
        self._inflate = zlib.decompressobj(zdict=HEADER_DICTIONARY)

    def encode(self, headers: Headers) -> bytes:
        plain = bytearray(struct.pack(">I", len(headers)))
        for name, value in headers.items():
            key, val = name.lower().encode(), value.encode()
            plain += struct.pack(">I", len(key)) + key + struct.pack(">I", len(val)) + val
        return self._deflate.compress(bytes(plain)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def decode(self, block: bytes) -> Headers:
        try:
            plain = self._inflate.decompress(block)
        except zlib.error as exc:
            raise SpdyProtocolError(f"header block does not inflate: {exc}") from exc
        headers: Headers = {}
        try:
            (count,), at = struct.unpack_from(">I", plain), 4
            for _ in range(count):
                (size,) = struct.unpack_from(">I", plain, at)
                name = plain[at + 4:at + 4 + size].decode()
                at += 4 + size
                (size,) = struct.unpack_from(">I", plain, at)
                headers[name] = plain[at + 4:at + 4 + size].decode()
                at += 4 + size
        except (struct.error, UnicodeDecodeError) as exc:
            raise SpdyProtocolError("malformed header block") from exc
        return headers


def control_frame(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


def data_frame(stream_id: int, data: bytes, fin: bool = False) -> bytes:
    flags = FLAG_FIN if fin else 0
    return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(data)) + data


@dataclass
class SpdyStream:
    """One stream of a session: its headers and the DATA the peer sends on it."""

    id: int
    headers: Headers
    session: SpdySession
    replied: asyncio.Event = field(default_factory=asyncio.Event)
    reply_headers: Headers = field(default_factory=dict)
    _incoming: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    remote_closed: bool = False
    local_closed: bool = False

    @property
    def stream_type(self) -> str:
        return self.headers.get("streamtype", "")

    async def read(self) -> bytes | None:
        """The next chunk the peer sent, or None once it closed its half."""
        return await self._incoming.get()

    async def write(self, data: bytes) -> None:
        for start in range(0, len(data), 32768):
            await self.session.send(data_frame(self.id, data[start:start + 32768]))

    async def close(self) -> None:
        """Half-close our side (DATA with FIN)."""
        if not self.local_closed:
            self.local_closed = True
            await self.session.send(data_frame(self.id, b"", fin=True))

    def _deliver(self, data: bytes, fin: bool) -> None:
        if data:
            self._incoming.put_nowait(data)
        if fin and not self.remote_closed:
            self.remote_closed = True
            self._incoming.put_nowait(None)


class SpdySession:
    """A SPDY/3.1 connection over asyncio streams; call `serve()` in a task, close with `close()`.

    The server side answers every SYN_STREAM with SYN_REPLY and hands the stream to
    `accepted`; the client side opens streams with `open_stream`.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: Writer,
                 *, client: bool) -> None:
        self._reader = reader
        self._writer = writer
        self._codec = HeaderCodec()
        self._next_id = 1 if client else 2
        self._lock = asyncio.Lock()
        self.streams: dict[int, SpdyStream] = {}
        self.accepted: asyncio.Queue[SpdyStream | None] = asyncio.Queue()
        self.closed = asyncio.Event()

    async def send(self, frame: bytes) -> None:
        if self.closed.is_set():
            return
        async with self._lock:
            try:
                self._writer.write(frame)
                await self._writer.drain()
            except (ConnectionError, RuntimeError):
                self.closed.set()

    async def _send_headers_frame(self, kind: int, flags: int, prefix: bytes,
                                  headers: Headers) -> None:
        async with self._lock:  # compression order must match send order
            if self.closed.is_set():
                return
            frame = control_frame(kind, flags, prefix + self._codec.encode(headers))
            try:
                self._writer.write(frame)
                await self._writer.drain()
            except (ConnectionError, RuntimeError):
                self.closed.set()

    async def open_stream(self, headers: Headers, wait_reply: bool = True) -> SpdyStream:
        stream_id = self._next_id
        self._next_id += 2
        stream = SpdyStream(stream_id, headers, self)
        self.streams[stream_id] = stream
        await self._send_headers_frame(SYN_STREAM, 0, struct.pack(">IIH", stream_id, 0, 0),
                                       headers)
        if wait_reply:
            await stream.replied.wait()
        return stream

    async def serve(self) -> None:
        """Read frames until the connection ends; then every stream sees end of data."""
        try:
            while True:
                head = await self._reader.readexactly(8)
                first, second = struct.unpack(">II", head)
                flags, length = second >> 24, second & 0xFFFFFF
                payload = await self._reader.readexactly(length) if length else b""
                if first & 0x80000000:
                    await self._control((first >> 16) & 0x7FFF, first & 0xFFFF, flags, payload)
                else:
                    stream = self.streams.get(first & 0x7FFFFFFF)
                    if stream is not None:
                        stream._deliver(payload, bool(flags & FLAG_FIN))
        except (asyncio.IncompleteReadError, ConnectionError, SpdyProtocolError):
            pass
        finally:
            self.closed.set()
            for stream in self.streams.values():
                stream._deliver(b"", True)
                stream.replied.set()
            self.accepted.put_nowait(None)

    async def _control(self, version: int, kind: int, flags: int, payload: bytes) -> None:
        if version != VERSION:
            raise SpdyProtocolError(f"SPDY version {version}, expected {VERSION}")
        if kind == SYN_STREAM:
            stream_id = struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF
            stream = SpdyStream(stream_id, self._codec.decode(payload[10:]), self)
            self.streams[stream_id] = stream
            await self._send_headers_frame(SYN_REPLY, 0, struct.pack(">I", stream_id), {})
            stream.replied.set()
            if flags & FLAG_FIN:
                stream._deliver(b"", True)
            self.accepted.put_nowait(stream)
        elif kind in (SYN_REPLY, HEADERS):
            stream_id = struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF
            headers = self._codec.decode(payload[4:])
            known = self.streams.get(stream_id)
            if known is not None:
                known.reply_headers.update(headers)
                known.replied.set()
                if flags & FLAG_FIN:
                    known._deliver(b"", True)
        elif kind == RST_STREAM:
            stream_id = struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF
            known = self.streams.get(stream_id)
            if known is not None:
                known._deliver(b"", True)
                known.replied.set()
        elif kind == PING:
            await self.send(control_frame(PING, 0, payload))
        elif kind == GOAWAY:
            raise asyncio.IncompleteReadError(b"", None)
        # SETTINGS and WINDOW_UPDATE carry nothing we act on.

    async def close(self) -> None:
        """GOAWAY, then close the transport."""
        if not self.closed.is_set():
            await self.send(control_frame(GOAWAY, 0, struct.pack(">II", 0, 0)))
        self.closed.set()
        with contextlib.suppress(Exception):
            self._writer.close()


class Writer(Protocol):
    """What SpdySession needs from a writer: asyncio.StreamWriter has it, and so does the
    connection the kubelet server takes over from aiohttp after a 101."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...
