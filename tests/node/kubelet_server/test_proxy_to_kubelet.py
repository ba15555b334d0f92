"""proxy_to_kubelet, the function the apiserver calls for pods/log and pods/exec: logs (also
followed) and exec sessions over WebSocket and SPDY reach a real container through it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from apiserver_harness import Certs
from kubelet_server_helpers import (
    LabelledPod,
    client_files,
    kubelet_server,
    remove_labelled_pod,
    start_labelled_pod,
    wait_exited,
)

from kubeadmpy.cri import CRIClient
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.kubelet.server import KubeletServer, spdy_client
from kubeadmpy.kubelet.server.proxy import proxy_to_kubelet

KUBELET_CLIENT = ("kube-apiserver-kubelet-client", ("system:masters",))


@pytest.fixture
async def kubelet(cri: CRIClient, certs: Certs, tmp_path: Path) -> AsyncIterator[KubeletServer]:
    async with kubelet_server(cri, certs, tmp_path) as running:
        yield running


@pytest.fixture
async def front(kubelet: KubeletServer, certs: Certs) -> AsyncIterator[str]:
    """A plain-HTTP front standing where the apiserver's pods/log and pods/exec routes are:
    /k/<kubelet path> is relayed with the apiserver's kubelet client certificate."""
    cert, key = client_files(certs, *KUBELET_CLIENT)

    async def relay(request: web.Request) -> web.StreamResponse:
        return await proxy_to_kubelet(request, "127.0.0.1", kubelet.port,
                                      request.path_qs[2:], cert, key)

    app = web.Application()
    app.router.add_route("*", "/k/{tail:.*}", relay)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/k"
    finally:
        await runner.cleanup()


@pytest.fixture
async def shell(cri: CRIClient, runtime: ScratchContainerd) -> AsyncIterator[LabelledPod]:
    pod = await start_labelled_pod(cri, runtime, "pshell", ["sleep", "3600"])
    try:
        yield pod
    finally:
        await remove_labelled_pod(cri, pod)


async def test_logs_are_relayed(front: str, cri: CRIClient, runtime: ScratchContainerd) -> None:
    pod = await start_labelled_pod(cri, runtime, "plog", ["sh", "-c", "echo a; echo b"])
    try:
        await wait_exited(cri, pod.container_id)
        async with aiohttp.ClientSession() as session, session.get(
                f"{front}/containerLogs/default/plog/main?tailLines=1") as response:
            assert (response.status, await response.text()) == (200, "b\n")
    finally:
        await remove_labelled_pod(cri, pod)


async def test_followed_logs_arrive_line_by_line_through_the_relay(
        front: str, cri: CRIClient, runtime: ScratchContainerd) -> None:
    pod = await start_labelled_pod(cri, runtime, "pfollow", [
        "sh", "-c", "echo one; read line; echo two"])
    try:
        async with aiohttp.ClientSession() as session, session.get(
                f"{front}/containerLogs/default/pfollow/main?follow=true") as response:
            assert response.status == 200
            async with asyncio.timeout(30):
                assert await response.content.readline() == b"one\n"
                # the container waits for input; the relay must have streamed "one" already
                attached = await cri.attach_url(pod.container_id, stdin=True, stdout=False,
                                                stderr=False)
                session_to_runtime = await spdy_client.connect(attached, ["error", "stdin"])
                await session_to_runtime.streams["stdin"].write(b"go\n")
                assert await response.content.readline() == b"two\n"
                await session_to_runtime.close()
    finally:
        await remove_labelled_pod(cri, pod)


async def test_kubelet_errors_come_back_with_their_status(front: str) -> None:
    async with aiohttp.ClientSession() as session, session.get(
            f"{front}/containerLogs/default/nosuchpod/main") as response:
        assert response.status == 404


async def test_a_websocket_exec_is_spliced_through(front: str, shell: LabelledPod) -> None:
    channels: dict[int, bytes] = {}
    url = f"{front.replace('http', 'ws')}/exec/default/pshell/main?command=sh&command=-c" \
          "&command=echo+hi%3B+exit+2&output=1&error=1"
    async with aiohttp.ClientSession() as session, session.ws_connect(
            url, protocols=("v5.channel.k8s.io",)) as socket:
        assert socket.protocol == "v5.channel.k8s.io"
        async with asyncio.timeout(30):
            async for message in socket:
                channels[message.data[0]] = channels.get(message.data[0], b"") + \
                    message.data[1:]
    assert channels[1] == b"hi\n"
    assert b'"message":"2"' in channels[3].replace(b" ", b"")


async def test_a_spdy_exec_is_spliced_through(front: str, shell: LabelledPod) -> None:
    session = await spdy_client.connect(
        f"{front}/exec/default/pshell/main?command=cat&input=1&output=1&error=1",
        ["error", "stdin", "stdout", "stderr"])
    try:
        await session.streams["stdin"].write(b"through the relay\n")
        await session.streams["stdin"].close()
        output = b""
        async with asyncio.timeout(30):
            while (chunk := await session.streams["stdout"].read()) is not None:
                output += chunk
            status = b""
            while (chunk := await session.streams["error"].read()) is not None:
                status += chunk
    finally:
        await session.close()
    assert output == b"through the relay\n"
    assert b'"status":"Success"' in status
