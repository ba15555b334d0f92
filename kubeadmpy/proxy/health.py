"""kube-proxy's plain-HTTP endpoints: /healthz on --healthz-bind-address (10256) and, when
asked for, /metrics on --metrics-bind-address.

Upstream serves these without TLS (load balancers probe 10256), answering /healthz with 200 and
a small JSON body while rules are fresh and 503 when they are stale; the same shape here lets
existing probes and dashboards work.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import AsyncIterator

from aiohttp import web

from kubeadmpy.proxy.sync import Proxier


def _iso(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat().replace(
        "+00:00", "Z")


def health_app(proxier: Proxier) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        body = {"lastUpdated": _iso(proxier.stats.last_success_wall),
                "currentTime": _iso(datetime.datetime.now(datetime.UTC).timestamp()),
                "nodeName": proxier.settings.rules.node_name}
        return web.Response(status=200 if proxier.healthy() else 503,
                            text=json.dumps(body), content_type="application/json")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", healthz)
    return app


def metrics_app(proxier: Proxier) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        stats = proxier.stats
        lines = [
            "# TYPE kubeproxy_sync_proxy_rules_duration_seconds summary",
            f"kubeproxy_sync_proxy_rules_duration_seconds_sum {stats.duration_sum}",
            f"kubeproxy_sync_proxy_rules_duration_seconds_count {stats.syncs}",
            "# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge",
            f"kubeproxy_sync_proxy_rules_last_timestamp_seconds {stats.last_success_wall or 0}",
            "# TYPE kubeproxy_sync_proxy_rules_nftables_sync_failures_total counter",
            f"kubeproxy_sync_proxy_rules_nftables_sync_failures_total {stats.failures}",
        ]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app


@contextlib.asynccontextmanager
async def serving(app: web.Application, host_port: str) -> AsyncIterator[int]:
    """Serve `app` on host:port for the duration; yields the bound port (":0" picks one)."""
    host, _, port = host_port.rpartition(":")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host.strip("[]"), int(port))
        await site.start()
        addresses = runner.addresses
        yield int(addresses[0][1]) if addresses else int(port)
    finally:
        await runner.cleanup()
