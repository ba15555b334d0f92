"""`kubeadmpy-apiserver` entry point: parse upstream flags, run, pick the exit code."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import uvloop

from kubeadmpy.apiserver.server import run
from kubeadmpy.apiserver.settings import Settings, parse_settings
from kubeadmpy.errors import KubeadmpyError


async def serve_until_signalled(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT, then shut down cleanly (close watches, stop the site)."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await run(settings)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    try:
        settings = parse_settings(sys.argv[1:] if argv is None else argv)
        # uvloop halves the server's CPU per request (measured in benchmarks/bench_apiserver.py).
        uvloop.run(serve_until_signalled(settings))
    except KubeadmpyError as exc:
        print(f"kubeadmpy-apiserver: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # bind failures, unreadable certificate files
        print(f"kubeadmpy-apiserver: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
