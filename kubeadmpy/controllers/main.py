"""`kubeadmpy-controller-manager`: the console entry point around `manager` (flags → run).

Bad flags end with one line naming the flag and the fix (exit code from the error), never a
traceback; a running process stops cleanly on SIGTERM (Lease released).
"""

from __future__ import annotations

import logging
import sys

import uvloop

from kubeadmpy.client.controller import ReconcileIdFilter
from kubeadmpy.controllers.manager import parse_settings, run
from kubeadmpy.errors import KubeadmpyError

PROG = "kubeadmpy-controller-manager"


def main(argv: list[str] | None = None) -> int:
    try:
        settings = parse_settings(sys.argv[1:] if argv is None else argv)
    except KubeadmpyError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.exit_code
    handler = logging.StreamHandler()
    handler.addFilter(ReconcileIdFilter())
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(reconcile_id)s]: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if settings.verbosity >= 4 else logging.INFO,
                        handlers=[handler])
    try:
        uvloop.run(run(settings))
    except KubeadmpyError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.exit_code
    except BaseExceptionGroup as group:  # a controller refused its flags inside the task group
        user_error = _first_user_error(group)
        if user_error is None:
            raise
        print(f"{PROG}: {user_error}", file=sys.stderr)
        return user_error.exit_code
    except OSError as exc:  # bind failures, unreachable API server at start
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def _first_user_error(error: BaseException) -> KubeadmpyError | None:
    if isinstance(error, KubeadmpyError):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _first_user_error(inner)
            if found is not None:
                return found
    return None


if __name__ == "__main__":
    sys.exit(main())
