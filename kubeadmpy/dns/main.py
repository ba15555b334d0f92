"""`kubeadmpy-dns`: the cluster DNS server kubeadm's `coredns` addon runs.

Informers for Services, EndpointSlices and Namespaces feed a `ClusterIndex`; a `DnsHandler`
answers from it over UDP and TCP; names outside the zone go to the upstream resolvers. Like
CoreDNS, /health (8080) answers "OK" while the process runs and /ready (8181) only once the
caches are filled, so the kubelet sends no traffic to a replica that would answer NXDOMAIN for
names that exist. The server starts listening after the first sync, or after 5 s without one
(CoreDNS's wait), answering SERVFAIL for cluster names until the caches are filled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable

import uvloop
from aiohttp import web

from kubeadmpy.client.config import load_config
from kubeadmpy.client.informer import SharedInformerFactory
from kubeadmpy.client.rest import Client
from kubeadmpy.dns.config import DnsSettings, parse_settings
from kubeadmpy.dns.forward import Forwarder
from kubeadmpy.dns.index import ClusterIndex
from kubeadmpy.dns.lookup import Zone
from kubeadmpy.dns.server import DnsHandler, serve
from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.proxy.health import serving

log = logging.getLogger(__name__)
SYNC_WAIT_SECONDS = 5.0


def health_app() -> web.Application:
    async def health(_: web.Request) -> web.Response:
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_get("/health", health)
    return app


def ready_app(synced: Callable[[], bool]) -> web.Application:
    async def ready(_: web.Request) -> web.Response:
        if synced():
            return web.Response(text="OK")
        return web.Response(status=503, text="kubernetes")  # CoreDNS names the unready plugin

    app = web.Application()
    app.router.add_get("/ready", ready)
    return app


async def run(settings: DnsSettings, on_listening: Callable[[int], None] | None = None
              ) -> None:
    """Watch the API, serve DNS and the probes until cancelled."""
    config = load_config(settings.kubeconfig or None)
    index = ClusterIndex()
    zone = Zone.parse(settings.cluster_domain, settings.ttl)
    forwarder = (Forwarder(list(settings.upstreams), settings.forward_timeout)
                 if settings.upstreams else None)
    async with Client(config) as client, contextlib.AsyncExitStack() as stack:
        informers = SharedInformerFactory(client)
        informers.informer("services").add_handler(index.service_handler())
        informers.informer("endpointslices").add_handler(index.slice_handler())
        informers.informer("namespaces").add_handler(index.namespace_handler())
        handler = DnsHandler(index, zone, forwarder, informers.has_synced)
        if settings.health_listen:
            await stack.enter_async_context(serving(health_app(), settings.health_listen))
        if settings.ready_listen:
            await stack.enter_async_context(
                serving(ready_app(informers.has_synced), settings.ready_listen))
        log.info("zone %s, ttl %d, upstreams %s", zone.name, zone.ttl,
                 ", ".join(map(str, settings.upstreams)) or "(none: SERVFAIL outside the zone)")
        async with asyncio.TaskGroup() as group:
            group.create_task(informers.run())
            try:
                async with asyncio.timeout(SYNC_WAIT_SECONDS):
                    await informers.wait_synced()
            except TimeoutError:
                log.warning("starting with unsynced caches; cluster names get SERVFAIL")
            await serve(handler, settings.listen_host, settings.listen_port, on_listening)


async def _until_signal(settings: DnsSettings) -> None:
    """`run` until it ends or SIGTERM/SIGINT cancels it."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await run(settings)


def main(argv: list[str] | None = None) -> int:
    try:
        settings = parse_settings(sys.argv[1:] if argv is None else argv)
    except KubeadmpyError as exc:
        print(f"kubeadmpy-dns: {exc}", file=sys.stderr)
        return exc.exit_code
    logging.basicConfig(level=logging.DEBUG if settings.verbosity >= 4 else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        uvloop.run(_until_signal(settings))
    except (KubeadmpyError, OSError, BaseExceptionGroup) as exc:
        error = _single(exc)
        if not isinstance(error, KubeadmpyError | OSError):
            raise
        print(f"kubeadmpy-dns: {error}", file=sys.stderr)  # a port in use, a bad kubeconfig
        return error.exit_code if isinstance(error, KubeadmpyError) else 1
    return 0


def _single(exc: BaseException) -> BaseException:
    """The one error inside task-group wrappers (a bind failure surfaces as a group)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


if __name__ == "__main__":
    sys.exit(main())
