"""`kubeadmpy-proxy`: kube-proxy's nftables mode for kubeadmpy nodes.

Flags keep upstream's names (`--kubeconfig`, `--hostname-override`, `--cluster-cidr`,
`--proxy-mode`, `--healthz-bind-address`, `--metrics-bind-address`, `--config`, `--cleanup`)
so kubeadm's kube-proxy DaemonSet command line works unchanged. `run(settings)` is what tests
start in-process and cancel; `main()` parses, runs and picks the exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from kubeadmpy.client.config import load_config
from kubeadmpy.client.rest import Client
from kubeadmpy.daemon import run_daemon
from kubeadmpy.proxy import health, nft, rules
from kubeadmpy.proxy.config import ProxySettings, parse_settings
from kubeadmpy.proxy.sync import Proxier

log = logging.getLogger(__name__)


async def run(settings: ProxySettings,
              on_proxier: Callable[[Proxier], None] | None = None) -> None:
    """Serve health (and metrics) and keep the table in step until cancelled or SIGTERM."""
    config = load_config(settings.kubeconfig or None).with_overrides(
        qps=settings.qps, burst=settings.burst)
    for name in settings.ignored_fields:
        log.warning("KubeProxyConfiguration.%s is accepted but not used by kubeadmpy-proxy",
                    name)
    async with Client(config) as client, contextlib.AsyncExitStack() as stack:
        proxier = Proxier(client, settings)
        if on_proxier is not None:
            on_proxier(proxier)
        if settings.healthz_bind_address:
            port = await stack.enter_async_context(
                health.serving(health.health_app(proxier), settings.healthz_bind_address))
            log.info("serving /healthz on port %d", port)
        if settings.metrics_bind_address:
            port = await stack.enter_async_context(
                health.serving(health.metrics_app(proxier), settings.metrics_bind_address))
            log.info("serving /metrics on port %d", port)
        log.info("node %s, cluster CIDR %s, mode nftables", settings.rules.node_name,
                 settings.rules.cluster_cidr or "(none: no masquerading of outside traffic)")
        await _until_signal(proxier.run())


async def _until_signal(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` until it ends or SIGTERM/SIGINT arrives; then cancel it (rules stay, like
    upstream: a restarting proxy must not cut every Service off meanwhile)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (RuntimeError, ValueError):  # not the main thread: the caller cancels us
            pass
    try:
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for pending in (task, stopper):
            pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def cleanup(command: tuple[str, ...] = nft.DEFAULT_COMMAND) -> None:
    """`--cleanup`: remove the table (nothing to do when it is absent)."""
    await nft.run_script(rules.delete_script(), command)


async def _run_or_clean_up(parsed: tuple[ProxySettings, bool]) -> None:
    settings, wants_cleanup = parsed
    if wants_cleanup:
        await cleanup(settings.nft_command)
        print(f"kubeadmpy-proxy: removed table {rules.FAMILY} {rules.TABLE}")
    else:
        await run(settings)


def main(argv: list[str] | None = None) -> int:
    return run_daemon("kubeadmpy-proxy", argv, parse_settings, _run_or_clean_up,
                      lambda parsed: parsed[0].verbosity)


if __name__ == "__main__":
    sys.exit(main())
