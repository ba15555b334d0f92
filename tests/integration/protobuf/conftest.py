"""Fixtures for capturing what the real kubectl sends: a capture server on a free loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from capture_server import CaptureServer

KUBECTL_133 = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.33")
KUBECTL_132 = Path("/usr/bin/kubectl")


@dataclass
class KubectlResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Capture:
    """A running capture server and a kubeconfig pointing at it."""

    server: CaptureServer
    kubeconfig: Path
    cache_dir: Path
    workdir: Path

    async def kubectl(self, binary: Path, *args: str) -> KubectlResult:
        process = await asyncio.create_subprocess_exec(
            str(binary), "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir),
            *args,
            cwd=self.workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        return KubectlResult(process.returncode or 0, stdout.decode(), stderr.decode())


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
