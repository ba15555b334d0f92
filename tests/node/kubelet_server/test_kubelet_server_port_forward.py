"""port-forward through the kubelet API to busybox httpd in a real pod: SPDY/3.1 with
portforward.k8s.io (kubectl 1.27–1.30) and the same frames tunnelled in WebSocket (1.31+)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from apiserver_harness import Certs
from kubelet_server_helpers import (
    LabelledPod,
    client_context,
    remove_labelled_pod,
    start_labelled_pod,
)

from kubeadmpy.cri import CRIClient
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.kubelet.server import KubeletServer, spdy_client
from kubeadmpy.kubelet.server.spdy import SpdySession

ADMIN = ("kube-apiserver-kubelet-client", ("system:masters",))
REQUEST = b"GET /hello HTTP/1.0\r\n\r\n"


@pytest.fixture
async def web(cri: CRIClient, runtime: ScratchContainerd) -> AsyncIterator[LabelledPod]:
    pod = await start_labelled_pod(cri, runtime, "pfweb", [
        "sh", "-c", "mkdir /www && echo hello-from-the-pod > /www/hello && "
                    "exec httpd -f -p 8080 -h /www"])
    try:
        for _ in range(100):  # httpd listens a moment after the container starts
            done = await cri.exec_sync(pod.container_id, ["sh", "-c", "netstat -ltn | grep -q :8080"], 5)
            if done.exit_code == 0:
                break
            await asyncio.sleep(0.05)
        yield pod
    finally:
        await remove_labelled_pod(cri, pod)


async def forward_once(session: SpdySession, request_id: int) -> bytes:
    """One forwarded connection as client-go makes it: an error stream, then a data stream."""
    headers = {"port": "8080", "requestid": str(request_id)}
    error = await session.open_stream({"streamtype": "error", **headers})
    data = await session.open_stream({"streamtype": "data", **headers})
    await data.write(REQUEST)
    await data.close()
    answer = b""
    async with asyncio.timeout(30):
        while (chunk := await data.read()) is not None:
            answer += chunk
    await error.close()
    return answer


async def test_spdy_port_forward_reaches_the_pod_port(
        server: KubeletServer, certs: Certs, web: LabelledPod) -> None:
    connection = await spdy_client.connect(
        f"https://127.0.0.1:{server.port}/portForward/default/pfweb", [],
        protocols=("portforward.k8s.io",), ssl_context=client_context(certs, *ADMIN))
    try:
        assert connection.protocol == "portforward.k8s.io"
        first = await forward_once(connection.session, 0)
        second = await forward_once(connection.session, 1)
    finally:
        await connection.close()
    for answer in (first, second):
        assert answer.startswith(b"HTTP/1.")
        assert answer.endswith(b"hello-from-the-pod\n")


class _WebSocketPipe:
    """SPDY over WebSocket binary messages, as kubectl 1.31+ tunnels it."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.reader = asyncio.StreamReader()

    def write(self, data: bytes) -> None:
        asyncio.get_running_loop().create_task(self.socket.send_bytes(data))

    async def drain(self) -> None:
        await asyncio.sleep(0)

    def close(self) -> None:
        pass

    async def pump(self) -> None:
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.reader.feed_data(message.data)
        self.reader.feed_eof()


async def test_port_forward_tunnelled_in_websocket_reaches_the_pod_port(
        server: KubeletServer, certs: Certs, web: LabelledPod) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(
            f"wss://127.0.0.1:{server.port}/portForward/default/pfweb",
            protocols=("SPDY/3.1+portforward.k8s.io",),
            ssl=client_context(certs, *ADMIN)) as socket:
        assert socket.protocol == "SPDY/3.1+portforward.k8s.io"
        pipe = _WebSocketPipe(socket)
        session = SpdySession(pipe.reader, pipe, client=True)
        tasks = [asyncio.ensure_future(pipe.pump()), asyncio.ensure_future(session.serve())]
        try:
            answer = await forward_once(session, 0)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    assert answer.endswith(b"hello-from-the-pod\n")
