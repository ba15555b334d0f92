"""Errors of the remote layer, each saying which host failed, why, and what a user can do.

They derive from `kubeadmpy.errors.KubeadmpyError`, so the CLI prints them as one paragraph. The
SSH adapter (`kubeadmpy.remote.ssh`) is the one place that turns paramiko and socket errors
into these, always chaining the original with ``raise ... from exc``.
"""

from __future__ import annotations

from kubeadmpy.errors import KubeadmpyError


class RemoteError(KubeadmpyError):
    """Something went wrong reaching or using a host."""

    def __init__(self, host: str, problem: str, fix: str = "") -> None:
        self.host = host
        self.problem = problem
        self.fix = fix
        text = f"{host}: {problem}"
        if fix:
            text += f". {fix}"
        super().__init__(text)


class HostUnreachableError(RemoteError):
    """No SSH connection could be made: refused, timed out, or no route."""


class AuthenticationError(RemoteError):
    """The host's sshd rejected every key offered."""


class HostKeyMismatchError(RemoteError):
    """The host presented a key different from the one pinned in known_hosts."""


class UnknownHostKeyError(RemoteError):
    """Strict host-key checking is on and the host is not in known_hosts."""


class CommandFailedError(RemoteError):
    """A command run with ``check=True`` exited non-zero."""

    def __init__(self, host: str, command: str, exit_code: int, stderr: str) -> None:
        self.command = command
        self.exit_code = exit_code
        self.stderr = stderr
        tail = stderr.strip().splitlines()[-5:]
        detail = ("; stderr: " + " | ".join(tail)) if tail else ""
        super().__init__(host, f"command {command!r} exited with code {exit_code}{detail}")


class CommandTimeoutError(RemoteError):
    """A command did not finish within its timeout."""


class RemoteFileError(RemoteError):
    """A file could not be read or written on the host."""
