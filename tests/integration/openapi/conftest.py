"""Fixtures: the OpenAPI test server on a free loopback port, and a kubeconfig pointing at it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from openapi_kubectl_harness import FakeDiscoveryServer, discovery_app


@pytest.fixture
async def discovery_server() -> AsyncIterator[FakeDiscoveryServer]:
    server = FakeDiscoveryServer(url="")
    runner = web.AppRunner(discovery_app(server))
    await runner.setup()
    try:
        # Port 0: the kernel picks a free port, so concurrent test runs never collide.
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        server.url = f"http://127.0.0.1:{port}"
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
def kubeconfig_for(tmp_path: Path) -> Iterator[object]:
    def write(url: str) -> Path:
        path = tmp_path / "kubeconfig"
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": url}}],
            "users": [{"name": "test", "user": {}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}]}))
        return path

    yield write
