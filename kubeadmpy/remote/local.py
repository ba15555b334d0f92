"""`Host` for this very machine: commands run in a local shell, files go through the filesystem.

Used where the installer acts on the machine it runs on (``kubeadmpy init`` on a server), and as
the reference the SSH implementation is compared with in tests.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import subprocess
import time
from pathlib import Path

from kubeadmpy.files import write_file
from kubeadmpy.remote.errors import CommandTimeoutError, RemoteFileError
from kubeadmpy.remote.host import (
    Command,
    CommandResult,
    Host,
    LineSplitter,
    OutputCallback,
    command_text,
)


class LocalHost(Host):
    """This machine, reached without any network."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or socket.gethostname()

    def run(
        self,
        command: Command,
        *,
        check: bool = False,
        timeout: float | None = None,
        stdin: bytes | str | None = None,
        on_output: OutputCallback | None = None,
    ) -> CommandResult:
        text = command_text(command)
        process = subprocess.Popen(
            ["/bin/sh", "-c", text],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        if stdin is not None:
            assert process.stdin is not None
            # A command that does not read its input closes the pipe; its exit code tells why.
            with contextlib.suppress(BrokenPipeError):
                process.stdin.write(stdin.encode() if isinstance(stdin, str) else stdin)
            process.stdin.close()
        splitters = {"stdout": LineSplitter("stdout", on_output),
                     "stderr": LineSplitter("stderr", on_output)}
        deadline = None if timeout is None else time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            assert process.stdout is not None and process.stderr is not None
            selector.register(process.stdout, selectors.EVENT_READ, "stdout")
            selector.register(process.stderr, selectors.EVENT_READ, "stderr")
            while selector.get_map():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    os.killpg(process.pid, 9)
                    process.wait()
                    raise CommandTimeoutError(self.name, f"command {text!r} timed out after "
                                              f"{timeout}s", "Raise the timeout or fix the command")
                for key, _ in selector.select(remaining):
                    data = os.read(key.fd, 65536)
                    if data:
                        splitters[key.data].feed(data)
                    else:
                        selector.unregister(key.fileobj)
        exit_code = process.wait()
        result = CommandResult(self.name, text, exit_code, splitters["stdout"].finish(),
                               splitters["stderr"].finish())
        return result.check() if check else result

    def put(self, data: bytes | str, path: str, mode: int = 0o644) -> None:
        try:
            write_file(Path(path), data, mode=mode)
        except OSError as exc:
            raise RemoteFileError(self.name, f"cannot write {path}: {exc.strerror}") from exc

    def get(self, path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise RemoteFileError(self.name, f"cannot read {path}: {exc.strerror}") from exc

    def is_reachable(self, timeout: float = 5.0) -> bool:
        return True
