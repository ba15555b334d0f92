"""/exec and /attach: the client's upgraded connection bridged to the runtime's streaming server.

Clients arrive with one of the protocols kubectl speaks: WebSocket with `v5.channel.k8s.io` or
`v4.channel.k8s.io` (kubectl 1.30+, the Python client), or SPDY/3.1 with one stream per channel
(kubectl 1.27–1.29, and 1.30+ as fallback). The runtime side is always the same: the URL the
CRI Exec/Attach call returns, reached over SPDY with `v4.channel.k8s.io` (containerd's
streaming server, like upstream's kubelet proxying to it). Channels map one to one — 0 stdin,
1 stdout, 2 stderr, 3 error (the final metav1.Status JSON), 4 resize — and a v5 CLOSE signal
(`[255, 0]`) or a SPDY FIN on stdin half-closes the command's stdin.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from kubeadmpy.kubelet.server import spdy_client
from kubeadmpy.kubelet.server.spdy import SpdySession, SpdyStream

log = logging.getLogger(__name__)

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
CHANNEL_NAMES = {STDIN: "stdin", STDOUT: "stdout", STDERR: "stderr", ERROR: "error",
                 RESIZE: "resize"}
WEBSOCKET_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
SPDY_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STREAM_CREATION_SECONDS = 30.0
WRITE_BUFFER_LIMIT = 1 << 20  # bytes queued for a SPDY client before the relay waits  # upstream's streamCreationTimeout default


@dataclass(frozen=True)
class StreamOptions:
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool

    @property
    def channels(self) -> list[str]:
        """Streams a SPDY client opens, in client-go's order."""
        names = ["error"]
        names += ["stdin"] if self.stdin else []
        names += ["stdout"] if self.stdout else []
        names += ["stderr"] if self.stderr and not self.tty else []
        names += ["resize"] if self.tty else []
        return names


def _flag(query: dict[str, str], *names: str) -> bool:
    return any(query.get(name, "").lower() in ("1", "true") for name in names)


def stream_options(query: dict[str, str]) -> StreamOptions:
    """Kubelet names (input/output/error/tty) and the API's (stdin/stdout/stderr) both work."""
    options = StreamOptions(stdin=_flag(query, "input", "stdin"),
                            stdout=_flag(query, "output", "stdout"),
                            stderr=_flag(query, "error", "stderr"), tty=_flag(query, "tty"))
    if not (options.stdin or options.stdout or options.stderr):
        raise web.HTTPBadRequest(text="you must specify at least 1 of stdin, stdout, stderr")
    if options.tty and options.stderr:
        options = StreamOptions(options.stdin, options.stdout, False, True)
    return options


def wants_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def wants_spdy(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower().startswith("spdy/")


Backend = spdy_client.StreamSession
OpenBackend = Callable[[StreamOptions], Awaitable[Backend]]


async def _pump_out(backend: Backend, send: Callable[[int, bytes], Awaitable[None]]) -> None:
    """Runtime → client: stdout, stderr, then the error channel's status."""
    async def copy(channel: int) -> None:
        stream = backend.streams.get(CHANNEL_NAMES[channel])
        if stream is None:
            return
        while (chunk := await stream.read()) is not None:
            await send(channel, chunk)

    await asyncio.gather(copy(STDOUT), copy(STDERR))
    await copy(ERROR)


async def serve_websocket(request: web.Request, options: StreamOptions,
                          open_backend: OpenBackend) -> web.WebSocketResponse:
    """Bridge a v5/v4 channel WebSocket to the runtime."""
    socket = web.WebSocketResponse(protocols=WEBSOCKET_PROTOCOLS, autoping=True)
    await socket.prepare(request)
    try:
        backend = await open_backend(options)
    except Exception as exc:  # after the 101 the error channel is the only way to say it
        log.warning("%s %s: %s", request.method, request.path, exc)
        await socket.send_bytes(bytes([ERROR]) + _failure_status(str(exc)))
        await socket.close()
        return socket
    v5 = socket.ws_protocol == "v5.channel.k8s.io"
    log.info("%s %s over websocket %s", request.method, request.path, socket.ws_protocol)

    async def send(channel: int, data: bytes) -> None:
        if not socket.closed:
            await socket.send_bytes(bytes([channel]) + data)

    async def pump_in() -> None:
        async for message in socket:
            if message.type != WSMsgType.BINARY or not message.data:
                continue
            channel, payload = message.data[0], message.data[1:]
            if channel == CLOSE and v5 and payload[:1] == bytes([STDIN]):
                await _close_stream(backend.streams.get("stdin"))
            elif channel in (STDIN, RESIZE) and CHANNEL_NAMES[channel] in backend.streams:
                await backend.streams[CHANNEL_NAMES[channel]].write(payload)
            else:
                log.debug("exec websocket: discarding a message on channel %d", channel)

    await _bridge(pump_in(), _pump_out(backend, send), backend)
    await socket.close()
    return socket


async def _close_stream(stream: SpdyStream | None) -> None:
    if stream is not None:
        await stream.close()


async def _bridge(pump_in: Awaitable[None], pump_out: Awaitable[None], backend: Backend,
                  client_gone: Awaitable[Any] | None = None) -> None:
    """Run both directions; the session ends when the runtime has sent everything, or when
    the client went away (`client_gone`; for WebSocket the inbound pump ending is that)."""
    inbound = asyncio.ensure_future(pump_in)
    outbound = asyncio.ensure_future(pump_out)
    gone = asyncio.ensure_future(client_gone) if client_gone is not None else inbound
    try:
        await asyncio.wait([outbound, gone], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in {inbound, outbound, gone}:
            task.cancel()
        await asyncio.gather(inbound, outbound, gone, return_exceptions=True)
        await backend.close()


def _failure_status(message: str) -> bytes:
    return json.dumps({"metadata": {}, "status": "Failure", "message": message,
                       "reason": "InternalError", "code": 500}).encode()


class _TakenOverConnection:
    """The writer half of a connection aiohttp handed over after our 101."""

    def __init__(self, request: web.Request) -> None:
        assert request.transport is not None
        self.transport = request.transport

    def write(self, data: bytes) -> None:
        if self.transport.is_closing():
            raise ConnectionResetError("client went away")
        self.transport.write(data)

    async def drain(self) -> None:
        # aiohttp's transport offers no drain and no event for it: poll while a slow client's
        # buffer is full
        while self._full():  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        await asyncio.sleep(0)

    def _full(self) -> bool:
        return self.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT and \
            not self.transport.is_closing()

    def close(self) -> None:
        self.transport.close()


class _FeedReader:
    """aiohttp's payload-parser slot, feeding the bytes after the upgrade to a StreamReader."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.reader.feed_data(data)
        return False, b""

    def feed_eof(self) -> None:
        self.reader.feed_eof()


async def serve_spdy(request: web.Request, options: StreamOptions,
                     open_backend: OpenBackend) -> web.StreamResponse:
    """Upgrade to SPDY/3.1, accept the client's channel streams, bridge them to the runtime."""
    offered = [value.strip() for header in request.headers.getall("X-Stream-Protocol-Version", [])
               for value in header.split(",")]
    chosen = next((p for p in SPDY_PROTOCOLS if p in offered), "")
    if not chosen:
        raise web.HTTPForbidden(text=f"unable to upgrade: no common protocols: offered {offered}, "
                                f"supported {list(SPDY_PROTOCOLS)}")
    log.info("%s %s over SPDY/3.1 %s", request.method, request.path, chosen)
    reader = asyncio.StreamReader()
    request.protocol.set_parser(_FeedReader(reader))  # type: ignore[arg-type]
    response = web.StreamResponse(status=101, headers={
        "Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": chosen})
    response.force_close()
    await response.prepare(request)
    session = SpdySession(reader, _TakenOverConnection(request), client=False)
    serving = asyncio.ensure_future(session.serve())
    try:
        streams = await _accept_streams(session, options)
        try:
            backend = await open_backend(options)
        except Exception as exc:  # after the 101 the error stream is the only way to say it
            log.warning("%s %s: %s", request.method, request.path, exc)
            await streams["error"].write(_failure_status(str(exc)))
            for stream in streams.values():
                await stream.close()
            return response

        async def send(channel: int, data: bytes) -> None:
            stream = streams.get(CHANNEL_NAMES[channel])
            if stream is not None:
                await stream.write(data)

        async def pump_in() -> None:
            async def copy(name: str) -> None:
                source, target = streams.get(name), backend.streams.get(name)
                if source is None or target is None:
                    return
                while (chunk := await source.read()) is not None:
                    await target.write(chunk)
                if name == "stdin":
                    await target.close()
            await asyncio.gather(copy("stdin"), copy("resize"))

        await _bridge(pump_in(), _pump_out(backend, send), backend, session.closed.wait())
        for stream in streams.values():
            await stream.close()
    except TimeoutError:
        log.info("spdy exec: the client did not open its streams in time")
    finally:
        await session.close()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
    return response


async def _accept_streams(session: SpdySession, options: StreamOptions) -> dict[str, SpdyStream]:
    wanted = set(options.channels)
    streams: dict[str, SpdyStream] = {}
    async with asyncio.timeout(STREAM_CREATION_SECONDS):
        while not wanted <= set(streams):
            stream = await session.accepted.get()
            if stream is None:
                raise TimeoutError
            streams[stream.stream_type] = stream
    return streams


TUNNELLED_PORT_FORWARD = "SPDY/3.1+portforward.k8s.io"  # kubectl 1.31+ port-forward


async def serve_tunnelled_port_forward(request: web.Request, host: str, port: int,
                                       target: str) -> web.WebSocketResponse:
    """kubectl 1.31+ sends SPDY frames inside WebSocket binary messages: unwrap them onto a
    SPDY connection to the runtime's port-forward URL, and wrap what comes back."""
    socket = web.WebSocketResponse(protocols=(TUNNELLED_PORT_FORWARD,), autoping=True)
    await socket.prepare(request)
    if socket.ws_protocol != TUNNELLED_PORT_FORWARD:
        await socket.close(message=b"only SPDY/3.1+portforward.k8s.io is served here")
        return socket
    log.info("%s %s: port-forward over websocket %s", request.method, request.path,
             TUNNELLED_PORT_FORWARD)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write((f"POST {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                      "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                      "X-Stream-Protocol-Version: portforward.k8s.io\r\n"
                      "Content-Length: 0\r\n\r\n").encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0] + b" ":
            await socket.close(message=head.split(b"\r\n", 1)[0][:120])
            return socket

        async def upward() -> None:
            async for message in socket:
                if message.type == WSMsgType.BINARY:
                    writer.write(message.data)
                    await writer.drain()

        async def downward() -> None:
            while chunk := await reader.read(65536):
                await socket.send_bytes(chunk)

        pumps = [asyncio.ensure_future(upward()), asyncio.ensure_future(downward())]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
    finally:
        writer.close()
        await socket.close()
    return socket


async def serve_websocket_port_forward(request: web.Request, ports: list[int],
                                       runtime_url: str) -> web.WebSocketResponse:
    """Port-forward over a channel WebSocket (the Python client): for the i-th port, channel
    2i carries data and 2i+1 errors, each opened by a frame holding the port (uint16, little
    endian). The runtime side is one SPDY data + error stream pair per port."""
    socket = web.WebSocketResponse(protocols=WEBSOCKET_PROTOCOLS, autoping=True)
    await socket.prepare(request)
    log.info("%s %s: port-forward over websocket %s", request.method, request.path,
             socket.ws_protocol)
    backend = await spdy_client.connect(runtime_url, [], protocols=("portforward.k8s.io",))
    pairs: list[tuple[SpdyStream, SpdyStream]] = []
    for index, port in enumerate(ports):
        headers = {"port": str(port), "requestid": str(index)}
        error = await backend.session.open_stream({"streamtype": "error", **headers})
        data = await backend.session.open_stream({"streamtype": "data", **headers})
        pairs.append((data, error))
        for channel in (2 * index, 2 * index + 1):
            await socket.send_bytes(bytes([channel]) + port.to_bytes(2, "little"))

    async def pump_in() -> None:
        async for message in socket:
            if message.type != WSMsgType.BINARY or not message.data:
                continue
            channel = message.data[0]
            if channel % 2 == 0 and channel // 2 < len(pairs):
                await pairs[channel // 2][0].write(message.data[1:])

    async def copy(stream: SpdyStream, channel: int) -> None:
        while (chunk := await stream.read()) is not None:
            if not socket.closed:
                await socket.send_bytes(bytes([channel]) + chunk)

    async def pump_out() -> None:
        await asyncio.gather(*(copy(stream, 2 * index + offset)
                               for index, pair in enumerate(pairs)
                               for offset, stream in enumerate(pair)))

    await _bridge(pump_in(), pump_out(), backend)
    await socket.close()
    return socket
