"""The server on real loopback sockets: UDP and TCP answers, truncation with the TC bit over UDP
and the full answer over TCP, forwarding to a fake upstream (failover, SERVFAIL when every
upstream is silent), ExternalName targets completed upstream, garbage and replies never crash it,
SERVFAIL for cluster names until the caches are filled."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Callable
from typing import cast

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest
from dns_objects import ZONE, endpoint, endpoint_slice, port, service, small_cluster, texts

from kubeadmpy.dns import ClusterIndex, DnsHandler, Forwarder, Upstream, serve
from kubeadmpy.dns.server import ListenError

LOCAL = "127.0.0.1"


@contextlib.asynccontextmanager
async def serving(handler: DnsHandler) -> AsyncIterator[int]:
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(handler, LOCAL, 0, bound.set_result))
    try:
        yield await asyncio.wait_for(bound, 5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class FakeUpstreamProtocol(asyncio.DatagramProtocol):
    def __init__(self, answer: Callable[[bytes], bytes | None]) -> None:
        self.answer = answer
        self.transport: asyncio.DatagramTransport | None = None
        self.seen: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.seen.append(str(dns.message.from_wire(data).question[0].name))
        reply = self.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


def answer_with(ip: str) -> Callable[[bytes], bytes]:
    def answer(wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        reply = dns.message.make_response(query)
        reply.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "A", ip))
        return reply.to_wire()
    return answer


@contextlib.asynccontextmanager
async def fake_upstream(answer: Callable[[bytes], bytes | None]
                        ) -> AsyncIterator[tuple[Upstream, FakeUpstreamProtocol]]:
    """A resolver on loopback (UDP and TCP on one port) answering with `answer`."""
    loop = asyncio.get_running_loop()

    async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
        reply = answer(await reader.readexactly(length))
        if reply is not None:
            writer.write(struct.pack("!H", len(reply)) + reply)
            await writer.drain()
        writer.close()

    for _ in range(10):  # a port free for UDP may be taken for TCP by someone else
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: FakeUpstreamProtocol(answer), local_addr=(LOCAL, 0))
        bound = transport.get_extra_info("sockname")[1]
        try:
            server = await asyncio.start_server(tcp, LOCAL, bound)
            break
        except OSError:
            transport.close()
    else:
        raise AssertionError("no port free for both UDP and TCP")
    try:
        yield Upstream(LOCAL, bound), protocol
    finally:
        server.close()
        transport.close()


def many_endpoints(count: int) -> ClusterIndex:
    index = small_cluster()
    index.set_service(service("big", "None", port(80, "http")))
    index.set_slice(endpoint_slice("big", *(endpoint(f"10.244.9.{i}") for i in range(count)),
                                   ports=[port(80, "http")]))
    return index


async def test_udp_and_tcp_answer_cluster_names() -> None:
    async with serving(DnsHandler(small_cluster(), ZONE, None)) as bound:
        query = dns.message.make_query("web.default.svc.cluster.local", "A")
        for reply in (await dns.asyncquery.udp(query, LOCAL, 5, bound),
                      await dns.asyncquery.tcp(query, LOCAL, 5, bound)):
            assert reply.id == query.id
            assert texts(reply) == ["web.default.svc.cluster.local. 30 IN A 10.96.0.20"]


async def test_a_large_answer_is_truncated_over_udp_and_complete_over_tcp() -> None:
    async with serving(DnsHandler(many_endpoints(60), ZONE, None)) as bound:
        query = dns.message.make_query("big.default.svc.cluster.local", "A", use_edns=False)
        short = await dns.asyncquery.udp(query, LOCAL, 5, bound, ignore_trailing=True)
        assert short.flags & dns.flags.TC and short.answer == []
        full = await dns.asyncquery.tcp(query, LOCAL, 5, bound)
        assert not full.flags & dns.flags.TC and len(full.answer[0]) == 60
        # a client announcing a 4096-byte EDNS buffer gets it all over UDP
        edns = dns.message.make_query("big.default.svc.cluster.local", "A", use_edns=0,
                                      payload=4096)
        assert len((await dns.asyncquery.udp(edns, LOCAL, 5, bound)).answer[0]) == 60


async def test_several_queries_on_one_tcp_connection_are_answered_in_order() -> None:
    async with serving(DnsHandler(small_cluster(), ZONE, None)) as bound:
        reader, writer = await asyncio.open_connection(LOCAL, bound)
        names = ["web.default.svc.cluster.local", "nope.default.svc.cluster.local"]
        for name in names:
            wire = dns.message.make_query(name, "A").to_wire()
            writer.write(struct.pack("!H", len(wire)) + wire)
        await writer.drain()
        rcodes = []
        for _ in names:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            rcodes.append(dns.message.from_wire(await reader.readexactly(length)).rcode())
        writer.close()
        assert rcodes == [dns.rcode.NOERROR, dns.rcode.NXDOMAIN]


@pytest.mark.parametrize("tcp", [False, True], ids=["over udp", "over tcp"])
async def test_outside_names_go_to_the_first_upstream_that_answers(tcp: bool) -> None:
    async with fake_upstream(lambda _: None) as (silent, _), \
            fake_upstream(answer_with("192.0.2.7")) as (good, seen):
        handler = DnsHandler(small_cluster(), ZONE, Forwarder([silent, good], timeout=1.0))
        async with serving(handler) as bound:
            query = dns.message.make_query("example.com", "A")
            send = dns.asyncquery.tcp if tcp else dns.asyncquery.udp
            reply = await send(query, LOCAL, 5, bound)
            assert texts(reply) == ["example.com. 60 IN A 192.0.2.7"]
            assert not reply.flags & dns.flags.AA  # not our zone
            if not tcp:
                assert seen.seen == ["example.com."]


async def test_servfail_when_no_upstream_answers() -> None:
    async with fake_upstream(lambda _: None) as (silent, _):
        forwarder = Forwarder([silent], timeout=0.2)
        async with serving(DnsHandler(small_cluster(), ZONE, forwarder)) as bound:
            reply = await dns.asyncquery.udp(dns.message.make_query("example.com", "A"),
                                             LOCAL, 5, bound)
            assert reply.rcode() == dns.rcode.SERVFAIL and forwarder.failures == 1
            # without any upstream, an outside name is SERVFAIL at once
        async with serving(DnsHandler(small_cluster(), ZONE, None)) as bound:
            reply = await dns.asyncquery.udp(dns.message.make_query("example.com", "A"),
                                             LOCAL, 5, bound)
            assert reply.rcode() == dns.rcode.SERVFAIL


async def test_reverse_names_that_are_not_cluster_ips_are_forwarded() -> None:
    async with fake_upstream(answer_with("192.0.2.9")) as (good, seen):
        handler = DnsHandler(small_cluster(), ZONE, Forwarder([good], timeout=1))
        async with serving(handler) as bound:
            await dns.asyncquery.udp(dns.message.make_query("8.8.8.8.in-addr.arpa", "PTR"),
                                     LOCAL, 5, bound)
            mine = await dns.asyncquery.udp(
                dns.message.make_query("20.0.96.10.in-addr.arpa", "PTR"), LOCAL, 5, bound)
            assert seen.seen == ["8.8.8.8.in-addr.arpa."]
            assert texts(mine) == [
                "20.0.96.10.in-addr.arpa. 30 IN PTR web.default.svc.cluster.local."]


async def test_an_external_name_target_is_resolved_upstream_after_the_cname() -> None:
    async with fake_upstream(answer_with("192.0.2.44")) as (good, _):
        handler = DnsHandler(small_cluster(), ZONE, Forwarder([good], timeout=1))
        async with serving(handler) as bound:
            reply = await dns.asyncquery.udp(
                dns.message.make_query("ext.default.svc.cluster.local", "A"), LOCAL, 5, bound)
            assert texts(reply) == ["example.com. 60 IN A 192.0.2.44",
                                    "ext.default.svc.cluster.local. 30 IN CNAME example.com."]


async def test_garbage_and_stray_replies_do_not_stop_the_server() -> None:
    async with serving(DnsHandler(small_cluster(), ZONE, None)) as bound:
        loop = asyncio.get_running_loop()
        received: asyncio.Queue[bytes] = asyncio.Queue()

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
                received.put_nowait(data)

        transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(LOCAL, bound))
        try:
            transport.sendto(b"\x12\x34" + b"\x01\x00" + b"\x00\x01" + b"\xff" * 20)
            formerr = await asyncio.wait_for(received.get(), 5)
            assert formerr[:2] == b"\x12\x34" and formerr[3] & 0x0F == dns.rcode.FORMERR
            stray = dns.message.make_response(dns.message.make_query("x.example", "A"))
            transport.sendto(stray.to_wire())  # a reply: dropped, never answered
            transport.sendto(b"\x00")  # too short to answer at all
        finally:
            transport.close()
        reply = await dns.asyncquery.udp(dns.message.make_query(
            "web.default.svc.cluster.local", "A"), LOCAL, 5, bound)
        assert reply.rcode() == dns.rcode.NOERROR and received.empty()


async def test_cluster_names_are_servfail_until_the_caches_are_synced() -> None:
    synced = False
    handler = DnsHandler(small_cluster(), ZONE, None, synced=lambda: synced)
    async with serving(handler) as bound:
        query = dns.message.make_query("web.default.svc.cluster.local", "A")
        assert (await dns.asyncquery.udp(query, LOCAL, 5, bound)).rcode() == dns.rcode.SERVFAIL
        synced = True
        assert (await dns.asyncquery.udp(query, LOCAL, 5, bound)).rcode() == dns.rcode.NOERROR


async def test_zone_transfers_are_refused() -> None:
    async with serving(DnsHandler(small_cluster(), ZONE, None)) as bound:
        query = dns.message.make_query("cluster.local", "IXFR")
        reply = await dns.asyncquery.tcp(query, LOCAL, 5, bound)
        assert reply.rcode() == dns.rcode.REFUSED


async def test_a_port_in_use_is_a_listen_error_naming_the_address() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((LOCAL, 0))
        port = taken.getsockname()[1]
        with pytest.raises(ListenError, match=rf"--listen: cannot serve DNS on 127\.0\.0\.1:{port}"
                                              r"/udp: Address already in use"):
            await serve(DnsHandler(small_cluster(), ZONE, None), LOCAL, port)


async def test_an_external_name_keeps_its_cname_when_the_upstream_is_silent() -> None:
    async with fake_upstream(lambda _: None) as (silent, _):
        handler = DnsHandler(small_cluster(), ZONE, Forwarder([silent], timeout=0.2))
        async with serving(handler) as bound:
            reply = await dns.asyncquery.udp(
                dns.message.make_query("ext.default.svc.cluster.local", "A"), LOCAL, 5, bound)
            assert reply.rcode() == dns.rcode.NOERROR
            assert texts(reply) == ["ext.default.svc.cluster.local. 30 IN CNAME example.com."]
