"""The apiserver's way to a kubelet: pods/log, pods/exec, pods/attach, pods/portforward and
nodes/proxy are answered by relaying the client's request to the node's kubelet API.

`proxy_to_kubelet` takes the apiserver's aiohttp request and the kubelet location the apiserver
computed (node address, kubelet port, the kubelet path with its query, e.g.
``/containerLogs/default/web/nginx?follow=true``), connects with the apiserver's kubelet client
certificate, and relays in both directions. Plain requests stream the answer back chunk by
chunk (``kubectl logs -f``). Upgrade requests (WebSocket for kubectl 1.30+, SPDY/3.1 for older
kubectl) are forwarded as they came; once the kubelet answers 101, the same 101 goes back to
the client and the two connections are spliced byte for byte, as upstream's upgrade-aware
proxy does — the protocol itself stays between kubectl and the kubelet.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

# Headers of the client request that reach the kubelet (hop-by-hop and credentials do not:
# the kubelet sees the apiserver's own client certificate).
FORWARDED_HEADERS = ("Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
                     "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions",
                     "X-Stream-Protocol-Version", "Accept", "Content-Type", "User-Agent")
RESPONSE_HEADERS = ("Content-Type", "Content-Encoding", "Cache-Control")
SPLICE_CHUNK = 65536
CONNECT_SECONDS = 30.0


def kubelet_ssl_context(client_cert: str, client_key: str, ca: str | None) -> ssl.SSLContext:
    """TLS to the kubelet: our client pair; the serving cert checked only when a CA is given
    (upstream's --kubelet-certificate-authority; unset, it is not verified)."""
    context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    if not ca:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(client_cert, client_key)
    return context


def _is_upgrade(request: web.Request) -> bool:
    return "upgrade" in request.headers.get("Connection", "").lower() and \
        bool(request.headers.get("Upgrade"))


async def proxy_to_kubelet(request: web.Request, node_address: str, port: int, path: str,
                           client_cert: str, client_key: str,
                           ca: str | None = None) -> web.StreamResponse:
    """Relay `request` to https://node_address:port/path (path includes the query string)."""
    context = kubelet_ssl_context(client_cert, client_key, ca)
    if _is_upgrade(request):
        return await splice_upgrade(request, node_address, port, path, context)
    return await _relay_plain(request, node_address, port, path, context)


def _host(node_address: str, port: int) -> str:
    return f"[{node_address}]:{port}" if ":" in node_address else f"{node_address}:{port}"


async def _relay_plain(request: web.Request, node_address: str, port: int, path: str,
                       context: ssl.SSLContext) -> web.StreamResponse:
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS
               if name in request.headers and name not in ("Upgrade", "Connection")}
    body = await request.read() if request.can_read_body else None
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_SECONDS)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.request(
                request.method, f"https://{_host(node_address, port)}{path}", headers=headers,
                data=body, ssl=context, allow_redirects=False) as upstream:
            response = web.StreamResponse(status=upstream.status, headers={
                name: upstream.headers[name] for name in RESPONSE_HEADERS
                if name in upstream.headers})
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
    except (aiohttp.ClientError, OSError) as exc:
        raise _bad_gateway(node_address, port, exc) from exc


def _bad_gateway(node_address: str, port: int, exc: BaseException) -> web.HTTPException:
    return web.HTTPBadGateway(text=f"error dialing backend: {_host(node_address, port)}: {exc}")


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, list[tuple[str, str]]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = []
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return status, headers


class _Feed:
    """aiohttp's payload-parser slot: bytes the client sends after the upgrade."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.reader.feed_data(data)
        return False, b""

    def feed_eof(self) -> None:
        self.reader.feed_eof()


async def splice_upgrade(request: web.Request, node_address: str, port: int, path: str,
                         context: ssl.SSLContext | None) -> web.StreamResponse:
    """Forward an upgrade request to host:port/path; on 101, splice the two connections.

    The kubelet also uses it for port-forward, toward the runtime's streaming server (plain
    HTTP on loopback, `context` None).
    """
    try:
        async with asyncio.timeout(CONNECT_SECONDS):
            reader, writer = await asyncio.open_connection(node_address, port, ssl=context)
    except (OSError, TimeoutError) as exc:
        raise _bad_gateway(node_address, port, exc) from exc
    try:
        # an already-encoded path stays as it is; a decoded one (spaces, '>') gets encoded
        target = quote(path, safe="/?&=%:+,;@!$'()*~")
        lines = [f"{request.method} {target} HTTP/1.1", f"Host: {_host(node_address, port)}"]
        for name in FORWARDED_HEADERS:
            lines += [f"{name}: {value}" for value in request.headers.getall(name, [])]
        lines.append("Content-Length: 0")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        status, headers = await _read_head(reader)
        if status != 101:
            length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
            body = await reader.readexactly(length) if length else b""
            kept = {k: v for k, v in headers if k in RESPONSE_HEADERS}
            return web.Response(status=status, body=body, headers=kept)
        client_bytes = asyncio.StreamReader()
        request.protocol.set_parser(_Feed(client_bytes))  # type: ignore[arg-type]
        response = web.StreamResponse(status=101, headers=[
            (k, v) for k, v in headers if k.lower() not in ("content-length", "date")])
        response.force_close()
        await response.prepare(request)
        transport = request.transport
        assert transport is not None
        await _splice(client_bytes, transport, reader, writer)
        return response
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _splice(client: asyncio.StreamReader, client_transport: asyncio.Transport | Any,
                  kubelet: asyncio.StreamReader, kubelet_writer: asyncio.StreamWriter) -> None:
    """Copy both ways until either side ends, then end both: upgraded sessions (WebSocket,
    SPDY) never half-close TCP, so an end on one side means the session is over."""
    async def to_kubelet() -> None:
        while chunk := await client.read(SPLICE_CHUNK):
            kubelet_writer.write(chunk)
            await kubelet_writer.drain()

    async def to_client() -> None:
        while chunk := await kubelet.read(SPLICE_CHUNK):
            if client_transport.is_closing():
                return
            client_transport.write(chunk)

    pumps = [asyncio.ensure_future(to_kubelet()), asyncio.ensure_future(to_client())]
    try:
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        client_transport.close()
