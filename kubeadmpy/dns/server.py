"""DNS over UDP and TCP: query bytes in, reply bytes out, answered from memory.

Cluster names are answered synchronously inside the datagram callback (no task, no await) and
the reply bytes are cached by the query's bytes after its id, as CoreDNS's `cache 30` would, until
an informer event changes what they depend on: a reply about one Service is dropped when that
Service or its slices change (or any namespace does); replies about anything else (PTR, the apex,
CNAMEs) on every change. A repeated query then costs a dict lookup.
Replies whose record sets hold several records are not cached: their order is shuffled per reply,
as kubeadm's Corefile asks with `loadbalance`.
Only forwarding (and the upstream half of an ExternalName) needs a task, owned by the server's
task group. UDP replies respect 512 bytes, or the client's EDNS payload size; a reply that does not
fit goes out empty with the TC bit, and the client retries over TCP where the full answer fits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from kubeadmpy.dns.forward import Forwarder
from kubeadmpy.dns.index import EVERYTHING, ClusterIndex, Key
from kubeadmpy.dns.lookup import Answer, Zone, lookup
from kubeadmpy.errors import KubeadmpyError

log = logging.getLogger(__name__)
UDP_LIMIT = 512  # RFC 1035, when the client sends no EDNS
OUR_PAYLOAD = 1232  # the EDNS buffer size we advertise (DNS Flag Day 2020)
TCP_IDLE_SECONDS = 10.0  # CoreDNS's read timeout for an idle TCP connection
CACHE_ENTRIES = 10000
ZONE_TRANSFERS = (dns.rdatatype.AXFR, dns.rdatatype.IXFR)


@dataclass
class Pending:
    """A query that needs the network: forwarded whole, or an ExternalName to complete."""

    query: dns.message.Message
    answer: Answer | None = None  # None: forward the query as received


class DnsHandler:
    def __init__(self, index: ClusterIndex, zone: Zone, forwarder: Forwarder | None,
                 synced: Callable[[], bool] = lambda: True,
                 cache_entries: int = CACHE_ENTRIES) -> None:
        self.index = index
        self.cache_entries = cache_entries  # 0: no reply cache (benchmarks of the lookup path)
        self.zone = zone
        self.forwarder = forwarder
        self.synced = synced
        self._cache: dict[bytes, bytes] = {}
        self._keys_by_dependency: dict[Key, set[bytes]] = {}
        self._seen_generation = index.generation

    def reply_now(self, wire: bytes, tcp: bool) -> bytes | Pending | None:
        """The reply, a `Pending` for `reply_later`, or None to drop (not a DNS query)."""
        key = wire[2:] + (b"T" if tcp else b"U")
        if self._seen_generation != self.index.generation:
            self._invalidate()
        cached = self._cache.get(key)
        if cached is not None:
            return wire[:2] + cached
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # dnspython raises many kinds for hostile input
            return _format_error(wire)
        if query.flags & dns.flags.QR:
            return None  # a reply sent to us: never answer it (reflection loops)
        if query.opcode() != dns.opcode.QUERY:
            return self._reply(query, Answer(rcode=dns.rcode.NOTIMP), tcp, authoritative=False)
        if len(query.question) != 1:
            return self._reply(query, Answer(rcode=dns.rcode.FORMERR), tcp, authoritative=False)
        question = query.question[0]
        in_zone = question.name.is_subdomain(self.zone.name)
        if in_zone and (question.rdclass != dns.rdataclass.IN or
                        question.rdtype in ZONE_TRANSFERS):
            return self._reply(query, Answer(rcode=dns.rcode.REFUSED), tcp)
        if in_zone and not self.synced():  # CoreDNS: SERVFAIL until the caches are filled
            return self._reply(query, Answer(rcode=dns.rcode.SERVFAIL), tcp, authoritative=False)
        answer = (lookup(self.index, self.zone, question.name, question.rdtype)
                  if question.rdclass == dns.rdataclass.IN else Answer(forward=True))
        if answer.forward:
            return Pending(query)
        if answer.chase is not None:
            return Pending(query, answer)
        reply = self._reply(query, answer, tcp)
        # Several records in one set are shuffled per reply (dnspython, like CoreDNS's
        # loadbalance plugin); caching them would pin one order for every client.
        if self.cache_entries and all(len(rrset) == 1 for rrset in answer.answer):
            if len(self._cache) >= self.cache_entries:
                self._cache.clear()
                self._keys_by_dependency.clear()
            self._cache[key] = reply[2:]
            self._keys_by_dependency.setdefault(answer.depends, set()).add(key)
        return reply

    @property
    def cached_replies(self) -> int:
        return len(self._cache)

    def _invalidate(self) -> None:
        """Drop the cached replies that the index's changes since we last looked may alter."""
        changed = self.index.changes_since(self._seen_generation)
        self._seen_generation = self.index.generation
        if EVERYTHING in changed:
            self._cache.clear()
            self._keys_by_dependency.clear()
            return
        for dependency in (*changed, EVERYTHING):
            for key in self._keys_by_dependency.pop(dependency, ()):
                self._cache.pop(key, None)

    async def reply_later(self, wire: bytes, tcp: bool, pending: Pending) -> bytes:
        query, answer = pending.query, pending.answer
        if answer is None:
            reply = await self._forward(wire, tcp)
            if reply is None:
                return self._reply(query, Answer(rcode=dns.rcode.SERVFAIL), tcp,
                                   authoritative=False)
            return reply
        assert answer.chase is not None
        chase = dns.message.make_query(answer.chase, query.question[0].rdtype)
        reply = await self._forward(chase.to_wire(), tcp)
        if reply is not None:
            with contextlib.suppress(dns.exception.DNSException):
                upstream = dns.message.from_wire(reply)
                answer.answer += upstream.answer
                answer.rcode = upstream.rcode()
        return self._reply(query, answer, tcp)

    async def _forward(self, wire: bytes, tcp: bool) -> bytes | None:
        if self.forwarder is None:
            return None
        return await self.forwarder.forward(wire, tcp)

    def _reply(self, query: dns.message.Message, answer: Answer, tcp: bool,
               authoritative: bool = True) -> bytes:
        response = dns.message.make_response(query, recursion_available=True,
                                             our_payload=OUR_PAYLOAD)
        if authoritative:
            response.flags |= dns.flags.AA
        response.set_rcode(answer.rcode)
        response.answer = list(answer.answer)
        response.authority = list(answer.authority)
        response.additional = list(answer.additional)
        limit = 65535 if tcp else max(UDP_LIMIT, query.payload if query.edns >= 0 else 0)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            response.answer, response.authority, response.additional = [], [], []
            response.flags |= dns.flags.TC
            return response.to_wire(max_size=limit)


class ListenError(KubeadmpyError):
    """The DNS port cannot be bound (in use, not permitted, no such address)."""

    def __init__(self, host: str, port: int, transport: str, exc: OSError) -> None:
        # uvloop hides the reason in __cause__ ("could not bind to local_addr ...").
        cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        reason = cause.strerror or str(cause)
        super().__init__(f"--listen: cannot serve DNS on {host}:{port}/{transport}: {reason}. "
                         "Stop what holds the port, or choose another with --listen")


def _format_error(wire: bytes) -> bytes | None:
    """FORMERR with the query's id and opcode, when there is a header to answer at all."""
    if len(wire) < 12 or wire[2] & 0x80:
        return None
    flags = 0x8000 | (wire[2] & 0x78) << 8 | dns.rcode.FORMERR
    return wire[:2] + struct.pack("!HHHHH", flags, 0, 0, 0, 0)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, handler: DnsHandler) -> None:
        self.handler = handler
        self.group: asyncio.TaskGroup | None = None  # set while serving
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        reply = self.handler.reply_now(data, tcp=False)
        if isinstance(reply, Pending):
            if self.group is not None:  # before/after serving: dropped, the client retries
                self.group.create_task(self._later(data, addr, reply))
        elif reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    async def _later(self, data: bytes, addr: tuple[str | object, ...], pending: Pending
                     ) -> None:
        try:
            reply = await self.handler.reply_later(data, False, pending)
        except Exception:  # one bad query must not stop the server's task group
            log.exception("answering a forwarded query failed")
            return
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)


async def _tcp_connection(handler: DnsHandler, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            async with asyncio.timeout(TCP_IDLE_SECONDS):
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                data = await reader.readexactly(length)
            reply = handler.reply_now(data, tcp=True)
            if isinstance(reply, Pending):
                reply = await handler.reply_later(data, True, reply)
            if reply is None:
                return
            writer.write(struct.pack("!H", len(reply)) + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        pass  # client went away or idled out
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def serve(handler: DnsHandler, host: str, port: int,
                on_listening: Callable[[int], None] | None = None) -> None:
    """Serve UDP and TCP on host:port (0: one free port for both) until cancelled; a port
    that cannot be bound is a ListenError, raised as such (before any task starts)."""
    connections: set[asyncio.Task[None]] = set()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                            ) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            await _tcp_connection(handler, reader, writer)
        finally:
            connections.discard(task)

    protocol = _Udp(handler)
    udp, tcp, bound = await _bind(protocol, on_connection, host, port)
    try:
        async with asyncio.TaskGroup() as group:
            protocol.group = group
            log.info("serving DNS on %s:%d (udp, tcp)", host, bound)
            if on_listening is not None:
                on_listening(bound)
            await asyncio.Event().wait()
    finally:
        protocol.group = None
        tcp.close()
        udp.close()
        for task in list(connections):
            task.cancel()


async def _bind(protocol: _Udp, on_connection: Callable[..., Coroutine[Any, Any, None]],
                host: str, port: int
                ) -> tuple[asyncio.DatagramTransport, asyncio.Server, int]:
    """UDP and TCP sockets on one port (with port 0, a few tries for a port free in both)."""
    loop = asyncio.get_running_loop()
    for attempt in range(5):
        try:
            udp, _ = await loop.create_datagram_endpoint(lambda: protocol,
                                                         local_addr=(host, port))
        except OSError as exc:
            raise ListenError(host, port, "udp", exc) from exc
        bound = int(udp.get_extra_info("sockname")[1])
        try:
            tcp = await asyncio.start_server(on_connection, host, bound, reuse_address=True)
            return udp, tcp, bound
        except OSError as exc:
            udp.close()
            if port != 0 or attempt == 4:  # a fixed port in use is the user's problem
                raise ListenError(host, bound, "tcp", exc) from exc
    raise AssertionError("unreachable")
