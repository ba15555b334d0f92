"""`kubeadmpy-kubelet`: parse upstream flags, bootstrap credentials if needed, run.

`run(settings)` is what a test starts in-process and cancels; `main()` adds flag parsing,
logging and the exit code. Stopping the kubelet leaves running pods running, as upstream's does.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from kubeadmpy.client import Client, Clock, load_kubeconfig
from kubeadmpy.cri import CRIClient, CRIError, wait_for_runtime
from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.kubelet.bootstrap import bootstrap
from kubeadmpy.kubelet.kubelet import Kubelet
from kubeadmpy.kubelet.settings import KubeletSettings, parse_command_line

log = logging.getLogger("kubeadmpy.kubelet")


async def run(settings: KubeletSettings, clock: Clock | None = None,
              started: asyncio.Event | None = None,
              holder: list[Kubelet] | None = None) -> None:
    """Run the kubelet until cancelled. `holder` (tests) receives the Kubelet object."""
    if settings.bootstrap_kubeconfig:
        await bootstrap(Path(settings.kubeconfig), Path(settings.bootstrap_kubeconfig),
                        settings.pki_dir, settings.node_name, clock)
    config = load_kubeconfig(settings.kubeconfig)  # a bad file fails before any waiting
    try:
        version = await wait_for_runtime(settings.container_runtime_endpoint, 60.0)
    except CRIError as exc:
        raise KubeadmpyError(f"container runtime at {settings.container_runtime_endpoint}: "
                             f"{exc}") from exc
    log.info("container runtime %s %s (CRI %s)", version.runtime_name,
             version.runtime_version, version.runtime_api_version)
    async with Client(config, clock=clock) as client, \
            CRIClient(settings.container_runtime_endpoint) as cri:
        kubelet = Kubelet(settings, client, cri, clock)
        if holder is not None:
            holder.append(kubelet)
        kubelet.api_server = _server(settings, kubelet, cri)
        if kubelet.api_server is not None:  # bound first: the Node reports its port
            await kubelet.api_server.start()
            kubelet.reporter.kubelet_port = int(kubelet.api_server.port)
        async with asyncio.TaskGroup() as group:
            if kubelet.api_server is not None:
                group.create_task(_serve_until_cancelled(kubelet.api_server))
            group.create_task(kubelet.run())
            if started is not None:
                started.set()


def _server(settings: KubeletSettings, kubelet: Kubelet, cri: CRIClient) -> Any:
    """The kubelet API and healthz servers (kubeadmpy.kubelet.server) when installed."""
    try:
        module = importlib.import_module("kubeadmpy.kubelet.server")
        return module.KubeletServer(settings, kubelet, cri, api=kubelet.client)
    except (ImportError, AttributeError) as exc:
        log.warning("kubelet server not available (%s): no API on port %d", exc, settings.port)
        return None


async def _serve_until_cancelled(server: Any) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        await server.close()


def main(argv: list[str] | None = None) -> int:
    try:
        command = parse_command_line(sys.argv[1:] if argv is None else argv)
    except KubeadmpyError as exc:
        print(f"kubeadmpy-kubelet: {exc}", file=sys.stderr)
        return exc.exit_code
    level = logging.DEBUG if command.verbosity >= 4 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.info("node %s, config %s, kubeconfig %s", command.settings.node_name,
             command.settings.config_file or "(none)", command.settings.kubeconfig)

    async def serve() -> None:
        task = asyncio.create_task(run(command.settings))
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(serve())
    except KubeadmpyError as exc:
        log.error("%s", exc)
        return exc.exit_code
    except BaseExceptionGroup as group:
        failures = group.subgroup(KubeadmpyError)
        if failures is None:
            raise
        for failure in failures.exceptions:
            log.error("%s", failure)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
