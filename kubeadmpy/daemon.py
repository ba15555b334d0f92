"""The `main()` every kubeadmpy daemon shares: parse, log, run, and turn failures into exit codes.

What a user can fix (a bad flag, an unreadable file, a port in use, an API server that is not
there at start) is one line on stderr, `<program>: <reason>`, and an exit status — never a
traceback. SIGINT during the run is a clean exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import uvloop

from kubeadmpy.errors import KubeadmpyError

Settings = TypeVar("Settings")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(verbosity: int, handlers: Sequence[logging.Handler] | None = None) -> None:
    """klog's -v: 4 and above is debug."""
    level = logging.DEBUG if verbosity >= 4 else logging.INFO
    if handlers:
        logging.basicConfig(level=level, handlers=list(handlers))
    else:
        logging.basicConfig(level=level, format=LOG_FORMAT)


def run_daemon(program: str, argv: Sequence[str] | None,
               parse: Callable[[list[str]], Settings],
               serve: Callable[[Settings], Coroutine[Any, Any, object]],
               verbosity: Callable[[Settings], int], *, use_uvloop: bool = True) -> int:
    """Parse `argv` (default: the command line), configure logging, run `serve` to the end."""
    try:
        settings = parse(list(sys.argv[1:] if argv is None else argv))
    except KubeadmpyError as exc:
        return _report(program, exc, exc.exit_code)
    configure_logging(verbosity(settings))
    try:
        (uvloop.run if use_uvloop else asyncio.run)(serve(settings))
    except KubeadmpyError as exc:
        return _report(program, exc, exc.exit_code)
    except OSError as exc:  # bind failures, unreadable files, an unreachable API server
        return _report(program, exc, 1)
    except KeyboardInterrupt:
        return 0
    return 0


def _report(program: str, error: BaseException, code: int) -> int:
    print(f"{program}: {error}", file=sys.stderr)
    return code
