"""The client half of a Kubernetes SPDY stream session: HTTP upgrade, then one SPDY stream per
channel (error, stdin, stdout, stderr, resize), as client-go's remotecommand does it.

The kubelet uses it to reach containerd's CRI streaming server (the URL an Exec/Attach RPC
returns); tests use it to speak to the kubelet the way kubectl 1.27–1.29 does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kubeadmpy.kubelet.server.spdy import SpdySession, SpdyStream

STREAM_PROTOCOLS = ("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
                    "channel.k8s.io")


class UpgradeRefused(Exception):
    """The server answered the upgrade request with something other than 101."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"upgrade refused: HTTP {status}: {body.strip()[:300]}")
        self.status = status
        self.body = body


@dataclass
class StreamSession:
    """An upgraded connection with its channel streams by type."""

    session: SpdySession
    protocol: str
    streams: dict[str, SpdyStream] = field(default_factory=dict)
    reader_task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        await self.session.close()
        if self.reader_task is not None:
            self.reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader_task


async def _read_response_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], str]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = ""
    if status != 101:
        length = int(headers.get("content-length", "0") or 0)
        with contextlib.suppress(asyncio.IncompleteReadError, asyncio.TimeoutError):
            body = (await asyncio.wait_for(reader.readexactly(length), 5)).decode(
                errors="replace") if length else ""
    return status, headers, body


async def connect(url: str, channels: list[str], *, method: str = "POST",
                  protocols: tuple[str, ...] = STREAM_PROTOCOLS,
                  ssl_context: ssl.SSLContext | None = None,
                  extra_headers: dict[str, str] | None = None) -> StreamSession:
    """Upgrade `url` to SPDY/3.1 and open one stream per name in `channels` (in that order)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    reader, writer = await asyncio.open_connection(
        parts.hostname, port, ssl=ssl_context if secure else None)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: Upgrade",
             "Upgrade: SPDY/3.1", "Content-Length: 0"]
    lines += [f"X-Stream-Protocol-Version: {p}" for p in protocols]
    lines += [f"{k}: {v}" for k, v in (extra_headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    status, headers, body = await _read_response_head(reader)
    if status != 101:
        writer.close()
        raise UpgradeRefused(status, body)
    session = SpdySession(reader, writer, client=True)
    result = StreamSession(session, headers.get("x-stream-protocol-version", ""))
    result.reader_task = asyncio.get_running_loop().create_task(session.serve())
    for name in channels:
        result.streams[name] = await session.open_stream({"streamtype": name})
    return result
