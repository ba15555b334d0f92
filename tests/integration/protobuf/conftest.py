"""The `capture` fixture: a capture server on a free loopback port and a kubeconfig for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from protobuf_capture_server import Capture, CaptureServer


@pytest.fixture
async def capture(tmp_path: Path) -> AsyncIterator[Capture]:
    server = CaptureServer()
    runner = web.AppRunner(server.app())
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)  # the OS picks a free port
        await site.start()
        host, port = runner.addresses[0][:2]
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters: [{{name: capture, cluster: {{server: 'http://{host}:{port}'}}}}]\n"
            "contexts: [{name: capture, context: {cluster: capture, user: nobody,"
            " namespace: default}}]\n"
            "users: [{name: nobody, user: {}}]\n"
            "current-context: capture\n"
        )
        workdir = tmp_path / "work"
        workdir.mkdir()
        yield Capture(server, kubeconfig, tmp_path / "cache", workdir)
    finally:
        await runner.cleanup()
