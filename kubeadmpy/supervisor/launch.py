"""The detaching launcher the supervisor runs: ``python -m kubeadmpy.supervisor.launch``.

Forking inside the caller (a threaded asyncio process with gRPC threads) is unsafe, so the
supervisor starts this fresh, single-threaded interpreter instead. It forks once; the child
starts a new session, points stdin at /dev/null and stdout/stderr at the log file, writes its
pid file and execs the program. The launcher waits until the exec has happened (a close-on-exec
pipe closes) or failed (the child writes the error into the pipe), then exits, so the program is
left without a parent that could leave it a zombie, and the caller learns of a bad executable.

Usage: launch PIDFILE LOGFILE -- PROGRAM [ARG ...]
"""

from __future__ import annotations

import contextlib
import os
import sys


def _child(pid_file: str, log_file: str, argv: list[str], report: int) -> None:
    failed = log_file  # what the error names: the file or program that could not be used
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        log = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        failed = pid_file
        tmp = f"{pid_file}.{os.getpid()}.tmp"
        with open(tmp, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        os.replace(tmp, pid_file)
        failed = argv[0]
        os.execvp(argv[0], argv)
    except OSError as exc:
        os.write(report, f"{failed}: {exc.strerror or exc}".encode())
        with contextlib.suppress(OSError):
            os.unlink(pid_file)
    os._exit(127)


def main(args: list[str]) -> int:
    if len(args) < 4 or args[2] != "--":
        sys.stderr.write("usage: launch PIDFILE LOGFILE -- PROGRAM [ARG ...]\n")
        return 2
    pid_file, log_file, argv = args[0], args[1], args[3:]
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(pid_file, log_file, argv, write_end)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        failure = pipe.read().decode(errors="replace")
    if failure:
        os.waitpid(pid, 0)
        sys.stderr.write(failure + "\n")
        return 1
    sys.stdout.write(f"{pid}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
