"""Forwarding names outside the cluster zone to the node's resolvers.

kubeadm's Corefile says `forward . /etc/resolv.conf`: the DNS pod inherits the node's resolvers
(kubelet gives it `dnsPolicy: Default`). Queries are relayed as received, byte for byte, over the
transport the client used (a truncated UDP reply reaches the client, which retries over TCP, as
with CoreDNS's forward plugin), to each upstream in turn until one answers within the timeout.
No answer from any of them is SERVFAIL, decided by the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

from kubeadmpy.errors import ConfigError

log = logging.getLogger(__name__)
DNS_PORT = 53


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int = DNS_PORT

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_upstream(flag: str, text: str) -> Upstream:
    """`ip`, `ip:port` or `[ipv6]:port`."""
    host, port = text.strip(), DNS_PORT
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        if rest:
            port = _port(flag, text, rest.removeprefix(":"))
    elif host.count(":") == 1:
        host, _, number = host.partition(":")
        port = _port(flag, text, number)
    try:
        return Upstream(str(ipaddress.ip_address(host)), port)
    except ValueError as exc:
        raise ConfigError(flag, f"{text!r} is not an IP address (with an optional port)",
                          "Use e.g. 10.0.0.2 or 127.0.0.1:5353") from exc


def _port(flag: str, text: str, number: str) -> int:
    if not number.isdigit() or not 0 < int(number) < 65536:
        raise ConfigError(flag, f"{text!r} has no valid port", "Use a port in 1-65535")
    return int(number)


def read_resolv_conf(path: str) -> list[Upstream]:
    """The `nameserver` lines of a resolv.conf file, in order (IPv6 zone ids dropped)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError("--resolv-conf", f"cannot read {path}: {exc.strerror}",
                          "Give the node's resolv.conf, or --upstream") from exc
    upstreams = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            upstreams.append(parse_upstream("--resolv-conf", fields[1].split("%", 1)[0]))
    if not upstreams:
        raise ConfigError("--resolv-conf", f"{path} lists no nameserver",
                          "Add a `nameserver <ip>` line, or give --upstream")
    return upstreams


class _OneReply(asyncio.DatagramProtocol):
    """Waits for the first datagram that answers our query id (spoofed or stale ones are
    dropped)."""

    def __init__(self, query_id: bytes) -> None:
        self.query_id = query_id
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if len(data) >= 12 and data[:2] == self.query_id and data[2] & 0x80 and \
                not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable and friends
        if not self.reply.done():
            self.reply.set_exception(exc)


class Forwarder:
    def __init__(self, upstreams: list[Upstream], timeout: float = 2.0) -> None:
        self.upstreams = upstreams
        self.timeout = timeout
        self.failures = 0  # queries no upstream answered (for logs and tests)

    async def forward(self, query: bytes, tcp: bool) -> bytes | None:
        """The first upstream's reply to `query` (wire format), or None when none answered."""
        for upstream in self.upstreams:
            try:
                async with asyncio.timeout(self.timeout):
                    if tcp:
                        return await self._tcp(upstream, query)
                    return await self._udp(upstream, query)
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                log.debug("upstream %s: %s", upstream, exc or type(exc).__name__)
        self.failures += 1
        return None

    async def _udp(self, upstream: Upstream, query: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _OneReply(query[:2]), remote_addr=(upstream.host, upstream.port))
        try:
            transport.sendto(query)
            return await protocol.reply
        finally:
            transport.close()

    async def _tcp(self, upstream: Upstream, query: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(upstream.host, upstream.port)
        try:
            writer.write(struct.pack("!H", len(query)) + query)
            await writer.drain()
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                reply = await reader.readexactly(length)
                if reply[:2] == query[:2]:
                    return reply
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
