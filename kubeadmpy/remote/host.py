"""The one interface through which kubeadmpy acts on a machine, wherever it is.

Installer phases, the lab and tests talk to a `Host`: run a command, put or get a file, check
that the machine is reachable. `LocalHost` acts on this machine; `SSHHost` reaches a lab
machine, a Vagrant VM or a server over SSH. Both pass the same behaviour tests, so code written
against `Host` does not care which it gets.
"""

from __future__ import annotations

import shlex
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, TextIO

from kubeadmpy.remote.errors import CommandFailedError

StreamName = Literal["stdout", "stderr"]
OutputCallback = Callable[[StreamName, str], None]
"""Called once per complete output line (without its newline) while a command runs."""

Command = str | Sequence[str]


def command_text(command: Command) -> str:
    """A shell command line: strings are taken as written, argument lists are quoted."""
    return command if isinstance(command, str) else shlex.join(command)


@dataclass(frozen=True)
class CommandResult:
    """What a finished command left behind."""

    host: str
    command: str
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def check(self) -> CommandResult:
        """Return self, or raise `CommandFailedError` if the command failed."""
        if self.exit_code != 0:
            raise CommandFailedError(self.host, self.command, self.exit_code, self.stderr)
        return self


class LineSplitter:
    """Turns chunks of bytes into whole decoded lines for an `OutputCallback`, keeping all text."""

    def __init__(self, stream: StreamName, callback: OutputCallback | None) -> None:
        self._stream: StreamName = stream
        self._callback = callback
        self._pending = b""
        self._chunks: list[bytes] = []

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        if self._callback is None:
            return
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            self._callback(self._stream, line.decode(errors="replace"))

    def finish(self) -> str:
        """Flush a last unterminated line and return everything received."""
        if self._callback is not None and self._pending:
            self._callback(self._stream, self._pending.decode(errors="replace"))
            self._pending = b""
        return b"".join(self._chunks).decode(errors="replace")


_print_lock = threading.Lock()


def prefixed_printer(prefix: str, out: TextIO | None = None, err: TextIO | None = None) -> OutputCallback:
    """An `OutputCallback` printing ``[prefix] line``; lines of parallel hosts never interleave."""

    def emit(stream: StreamName, line: str) -> None:
        target = (out or sys.stdout) if stream == "stdout" else (err or sys.stderr)
        with _print_lock:
            target.write(f"[{prefix}] {line}\n")
            target.flush()

    return emit


class Host(ABC):
    """A machine kubeadmpy can run commands on and move files to and from."""

    name: str

    @abstractmethod
    def run(
        self,
        command: Command,
        *,
        check: bool = False,
        timeout: float | None = None,
        stdin: bytes | str | None = None,
        on_output: OutputCallback | None = None,
    ) -> CommandResult:
        """Run `command` through the host's shell; stream lines to `on_output` while it runs."""

    @abstractmethod
    def put(self, data: bytes | str, path: str, mode: int = 0o644) -> None:
        """Write `data` to absolute `path` atomically with permission bits `mode`, making parents."""

    @abstractmethod
    def get(self, path: str) -> bytes:
        """Read the file at absolute `path`."""

    @abstractmethod
    def is_reachable(self, timeout: float = 5.0) -> bool:
        """Whether the host answers within `timeout` seconds (never raises for a dead host)."""

    def put_file(self, local: Path, path: str, mode: int | None = None) -> None:
        """Copy the local file `local` to `path`, keeping its mode unless `mode` is given."""
        file_mode = mode if mode is not None else local.stat().st_mode & 0o7777
        self.put(local.read_bytes(), path, file_mode)

    def get_file(self, path: str, local: Path, mode: int = 0o644) -> None:
        """Copy `path` from the host to the local file `local` with permission bits `mode`."""
        from kubeadmpy.files import write_file

        write_file(local, self.get(path), mode=mode)

    def close(self) -> None:  # noqa: B027 - most hosts hold nothing to release
        """Release connections; the host can be used again afterwards (it reconnects)."""

    def __enter__(self) -> Host:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def run_on_all(
    hosts: Sequence[Host],
    command: Command,
    *,
    check: bool = False,
    timeout: float | None = None,
    stream: bool = False,
) -> dict[str, CommandResult]:
    """Run `command` on every host in parallel; with `stream`, print lines as ``[host] line``."""
    if not hosts:
        return {}

    def one(host: Host) -> CommandResult:
        printer = prefixed_printer(host.name) if stream else None
        return host.run(command, check=check, timeout=timeout, on_output=printer)

    with ThreadPoolExecutor(max_workers=min(16, len(hosts))) as pool:
        results = list(pool.map(one, hosts))
    return {host.name: result for host, result in zip(hosts, results, strict=True)}
