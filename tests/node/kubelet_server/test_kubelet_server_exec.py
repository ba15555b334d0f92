"""exec and attach through the kubelet API with the protocols kubectl speaks: WebSocket
v5.channel.k8s.io / v4.channel.k8s.io (kubectl 1.30+, the Python client) and SPDY/3.1
(kubectl 1.27–1.29), down to a real container through containerd's streaming server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from apiserver_harness import Certs
from kubelet_server_helpers import (
    LabelledPod,
    client_context,
    remove_labelled_pod,
    start_labelled_pod,
    wait_exited,
)

from kubeadmpy.cri import CRIClient
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.kubelet.server import KubeletServer, spdy_client

ADMIN = ("kube-apiserver-kubelet-client", ("system:masters",))
FAILING = "command=sh&command=-c&command=echo+out%3B+echo+err+%3E%262%3B+exit+3"
EXIT_3 = {"status": "Failure", "reason": "NonZeroExitCode",
          "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}


@pytest.fixture
async def shell(cri: CRIClient, runtime: ScratchContainerd) -> AsyncIterator[LabelledPod]:
    pod = await start_labelled_pod(cri, runtime, "shell", ["sleep", "3600"])
    try:
        yield pod
    finally:
        await remove_labelled_pod(cri, pod)


@pytest.fixture
async def echoer(cri: CRIClient, runtime: ScratchContainerd) -> AsyncIterator[LabelledPod]:
    """A container whose main process copies its stdin to stdout (for attach)."""
    pod = await start_labelled_pod(cri, runtime, "echoer", ["cat"])
    try:
        yield pod
    finally:
        await remove_labelled_pod(cri, pod)


async def websocket_session(server: KubeletServer, certs: Certs, path: str, protocol: str,
                            send: list[bytes]) -> tuple[str, dict[int, bytes]]:
    """Run one channel WebSocket session; the negotiated protocol and bytes per channel."""
    received: dict[int, bytes] = {}
    async with aiohttp.ClientSession() as session, session.ws_connect(
            f"wss://127.0.0.1:{server.port}{path}", protocols=(protocol,),
            ssl=client_context(certs, *ADMIN)) as socket:
        for message in send:
            await socket.send_bytes(message)
        async with asyncio.timeout(30):
            async for message in socket:
                assert message.type == aiohttp.WSMsgType.BINARY, message
                channel = message.data[0]
                received[channel] = received.get(channel, b"") + message.data[1:]
        return socket.protocol or "", received


def status(raw: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(raw)
    decoded.pop("message", None)
    decoded.pop("metadata", None)
    return decoded


@pytest.mark.parametrize("protocol", ["v5.channel.k8s.io", "v4.channel.k8s.io"])
async def test_websocket_exec_returns_output_and_the_exit_status(
        server: KubeletServer, certs: Certs, shell: LabelledPod, protocol: str) -> None:
    negotiated, channels = await websocket_session(
        server, certs, f"/exec/default/shell/main?{FAILING}&output=1&error=1", protocol, [])
    assert negotiated == protocol
    assert (channels[1], channels[2]) == (b"out\n", b"err\n")
    assert status(channels[3]) == EXIT_3


async def test_websocket_v5_closes_stdin_with_the_close_signal(
        server: KubeletServer, certs: Certs, shell: LabelledPod) -> None:
    _, channels = await websocket_session(
        server, certs, "/exec/default/shell/main?command=cat&input=1&output=1&error=1",
        "v5.channel.k8s.io", [b"\x00hello ", b"\x00world\n", b"\xff\x00"])
    assert channels[1] == b"hello world\n"
    assert status(channels[3]) == {"status": "Success"}


async def test_websocket_exec_with_a_tty_gets_a_terminal(
        server: KubeletServer, certs: Certs, shell: LabelledPod) -> None:
    _, channels = await websocket_session(
        server, certs, "/exec/default/shell/main?command=tty&input=1&output=1&tty=1",
        "v5.channel.k8s.io", [b'\x04{"Width":80,"Height":24}'])
    assert channels[1].startswith(b"/dev/pts/")
    assert 2 not in channels


async def spdy_session(server: KubeletServer, certs: Certs, path: str, channels: list[str],
                       stdin: bytes | None = None) -> tuple[str, dict[str, bytes]]:
    """One exec/attach the way kubectl 1.27–1.29 runs it over SPDY/3.1."""
    session = await spdy_client.connect(f"https://127.0.0.1:{server.port}{path}", channels,
                                        ssl_context=client_context(certs, *ADMIN))
    try:
        if stdin is not None:
            await session.streams["stdin"].write(stdin)
            await session.streams["stdin"].close()

        async def drain(name: str) -> bytes:
            data = b""
            while (chunk := await session.streams[name].read()) is not None:
                data += chunk
            return data

        names = [name for name in channels if name not in ("stdin", "resize")]
        async with asyncio.timeout(30):
            results = await asyncio.gather(*(drain(name) for name in names))
        return session.protocol, dict(zip(names, results, strict=True))
    finally:
        await session.close()


async def test_spdy_exec_returns_output_and_the_exit_status(
        server: KubeletServer, certs: Certs, shell: LabelledPod) -> None:
    protocol, streams = await spdy_session(
        server, certs, f"/exec/default/shell/main?{FAILING}&output=1&error=1",
        ["error", "stdout", "stderr"])
    assert protocol == "v4.channel.k8s.io"
    assert (streams["stdout"], streams["stderr"]) == (b"out\n", b"err\n")
    assert status(streams["error"]) == EXIT_3


async def test_spdy_exec_passes_stdin_and_its_end(
        server: KubeletServer, certs: Certs, shell: LabelledPod) -> None:
    _, streams = await spdy_session(
        server, certs, "/exec/default/shell/main?command=wc&command=-c&input=1&output=1&error=1",
        ["error", "stdin", "stdout", "stderr"], stdin=b"12345")
    assert streams["stdout"].strip() == b"5"
    assert status(streams["error"]) == {"status": "Success"}


async def test_attach_reaches_the_main_process(
        server: KubeletServer, certs: Certs, echoer: LabelledPod) -> None:
    received = b""
    async with aiohttp.ClientSession() as session, session.ws_connect(
            f"wss://127.0.0.1:{server.port}/attach/default/echoer/main?input=1&output=1",
            protocols=("v5.channel.k8s.io",), ssl=client_context(certs, *ADMIN)) as socket:
        await socket.send_bytes(b"\x00ping\n")
        async with asyncio.timeout(30):
            while b"ping\n" not in received:
                message = await socket.receive()
                assert message.type == aiohttp.WSMsgType.BINARY, message
                if message.data[0] == 1:
                    received += message.data[1:]
    assert received == b"ping\n"


async def test_exec_without_an_upgrade_is_refused_like_upstream(
        server: KubeletServer, certs: Certs, shell: LabelledPod) -> None:
    async with aiohttp.ClientSession() as session, session.post(
            f"https://127.0.0.1:{server.port}/exec/default/shell/main?command=ls&output=1",
            ssl=client_context(certs, *ADMIN)) as response:
        assert (response.status, await response.text()) == (400, "Upgrade request required")


async def test_exec_in_a_stopped_container_reports_the_runtime_error_on_the_error_channel(
        server: KubeletServer, certs: Certs, cri: CRIClient,
        runtime: ScratchContainerd) -> None:
    pod = await start_labelled_pod(cri, runtime, "stopped", ["true"])
    try:
        await wait_exited(cri, pod.container_id)
        _, channels = await websocket_session(
            server, certs, "/exec/default/stopped/main?command=ls&output=1",
            "v5.channel.k8s.io", [])
        failure = json.loads(channels[3])
        assert (failure["status"], failure["code"]) == ("Failure", 500)
        assert "exec in main" in failure["message"]
        _, streams = await spdy_session(server, certs,
                                        "/exec/default/stopped/main?command=ls&output=1",
                                        ["error", "stdout"])
        assert json.loads(streams["error"])["message"] == failure["message"]
    finally:
        await remove_labelled_pod(cri, pod)
