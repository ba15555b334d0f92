"""flanneld's /healthz and /readyz, as upstream serves them (`--healthz-ip`, `--healthz-port`).

Plain HTTP, like upstream's, because the DaemonSet probes them with `httpGet` on the node's
own address. /healthz answers as long as the process serves; /readyz only once this node's
network is programmed and subnet.env written — before that a pod started on the node would
fail in the CNI plugin, so the node's flannel pod must not count as ready.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

from aiohttp import web


class Readiness(Protocol):
    def is_ready(self) -> bool: ...

    def waiting_reason(self) -> str: ...


def app(state: Readiness) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        if state.is_ready():
            return web.Response(text="ok")
        return web.Response(status=503, text=f"not ready: {state.waiting_reason()}")

    application = web.Application()
    application.router.add_get("/healthz", healthz)
    application.router.add_get("/readyz", readyz)
    return application


@contextlib.asynccontextmanager
async def serving(state: Readiness, host: str, port: int) -> AsyncIterator[int]:
    """Serve while the block runs; yields the bound port (0 in `port` picks a free one)."""
    runner = web.AppRunner(app(state), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        addresses = runner.addresses
        yield int(addresses[0][1]) if addresses else port
    finally:
        await runner.cleanup()
