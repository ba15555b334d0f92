"""`Host` over SSH with paramiko: lab machines, Vagrant VMs and real servers alike.

This module is the one adapter between paramiko/socket errors and kubeadmpy's errors: a refused
connection, a timeout, a rejected key, an unknown or changed host key each become a
`RemoteError` that names the host and the fix. Host keys are checked against a known_hosts
file: a lab pins its machines' keys in its own file; for real machines the user picks the file
and the policy (``--ssh-known-hosts``, ``--ssh-strict-host-key-checking``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import posixpath
import re
import select
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import paramiko

from kubeadmpy.errors import UserInputError
from kubeadmpy.remote.errors import (
    AuthenticationError,
    CommandTimeoutError,
    HostKeyMismatchError,
    HostUnreachableError,
    RemoteError,
    RemoteFileError,
    UnknownHostKeyError,
)
from kubeadmpy.remote.host import (
    Command,
    CommandResult,
    Host,
    LineSplitter,
    OutputCallback,
    command_text,
)


class HostKeyPolicy(StrEnum):
    """What to do with a host key that known_hosts does not hold (OpenSSH's values)."""

    STRICT = "yes"  # refuse: the key must be pinned beforehand
    ACCEPT_NEW = "accept-new"  # pin it on first use; a changed key is still refused
    OFF = "no"  # accept anything and pin nothing (throw-away machines only)


@dataclass(frozen=True)
class SSHSettings:
    """How to reach hosts over SSH; the fields mirror the ``--ssh-*`` options."""

    user: str = "root"
    port: int = 22
    key_file: Path | None = None
    known_hosts: Path | None = None
    host_key_policy: HostKeyPolicy = HostKeyPolicy.STRICT
    connect_timeout: float = 10.0

    def effective_known_hosts(self) -> Path:
        return self.known_hosts or Path.home() / ".ssh" / "known_hosts"

    def validate(self) -> SSHSettings:
        """Raise `UserInputError` naming the option if a setting cannot work."""
        if not 0 < self.port < 65536:
            raise UserInputError("--ssh-port", f"{self.port} is not a TCP port",
                                 "Use a number from 1 to 65535")
        if self.connect_timeout <= 0:
            raise UserInputError("--ssh-connect-timeout", f"{self.connect_timeout} is not positive",
                                 "Use a number of seconds greater than 0")
        if self.key_file is not None:
            load_private_key(self.key_file)
        return self


_HOST_SPEC = re.compile(r"^(?:(?P<user>[^@\s]+)@)?(?:\[(?P<v6>[0-9a-fA-F:.]+)\]"
                        r"|(?P<name>[^:@\s\[\]]+))(?::(?P<port>\d{1,5}))?$")


def parse_host(spec: str, defaults: SSHSettings) -> SSHHost:
    """``[user@]address[:port]`` (``[v6]:port`` for IPv6) → an `SSHHost`; user/port override."""
    match = _HOST_SPEC.match(spec)
    if match is None:
        raise UserInputError("HOST", f"{spec!r} is not a host",
                             "Write it as ADDRESS, USER@ADDRESS or ADDRESS:PORT")
    settings = defaults
    if match["user"]:
        settings = dataclasses.replace(settings, user=match["user"])
    if match["port"]:
        settings = dataclasses.replace(settings, port=int(match["port"]))
    return SSHHost(match["v6"] or match["name"], settings.validate(), name=spec)


def load_private_key(path: Path) -> paramiko.PKey:
    """Read an unencrypted private key (ed25519, ecdsa or rsa) or explain why it cannot be used."""
    try:
        return paramiko.PKey.from_path(path)
    except FileNotFoundError as exc:
        raise UserInputError("--ssh-key", f"{path} does not exist",
                             "Pass the path of an existing private key file") from exc
    except PermissionError as exc:
        raise UserInputError("--ssh-key", f"{path} is not readable",
                             "Run as a user who can read the key, or fix its permissions") from exc
    except (paramiko.PasswordRequiredException, TypeError) as exc:
        # paramiko 4 lets cryptography's TypeError through for a passphrase-protected key.
        if isinstance(exc, TypeError) and "password" not in str(exc).lower():
            raise
        raise UserInputError("--ssh-key", f"{path} is encrypted with a passphrase",
                             "Use an unencrypted key for automation") from exc
    except (paramiko.SSHException, ValueError, UnicodeDecodeError) as exc:
        raise UserInputError("--ssh-key", f"{path} is not a private key paramiko can read ({exc})",
                             "Pass an OpenSSH or PEM private key, e.g. made with ssh-keygen -t "
                             "ed25519") from exc


class _PinNewKeyPolicy(paramiko.MissingHostKeyPolicy):
    """accept-new: pin an unknown key into the known_hosts file (a changed key never gets here)."""

    def __init__(self, known_hosts: Path) -> None:
        self._known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        self._known_hosts.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._known_hosts.open("a") as handle:
            handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


class _AcceptAnyKeyPolicy(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        return None


class SSHHost(Host):
    """A machine reached over SSH; connects on first use and keeps one connection."""

    def __init__(self, address: str, settings: SSHSettings | None = None,
                 name: str | None = None) -> None:
        self.address = address
        self.settings = settings or SSHSettings()
        self.name = name or address
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._lock = threading.Lock()

    # -- connection ---------------------------------------------------------------------------

    def _target(self) -> str:
        port = self.settings.port
        return self.address if port == 22 else f"[{self.address}]:{port}"

    def connect(self) -> paramiko.SSHClient:
        """The open connection, made now if needed; raises a `RemoteError` explaining failures."""
        with self._lock:
            transport = self._client.get_transport() if self._client else None
            if self._client is not None and transport is not None and transport.is_active():
                return self._client
            self._client = self._new_client()
            return self._client

    def _new_client(self) -> paramiko.SSHClient:
        settings = self.settings
        client = paramiko.SSHClient()
        known_hosts = settings.effective_known_hosts()
        if settings.host_key_policy is HostKeyPolicy.OFF:
            client.set_missing_host_key_policy(_AcceptAnyKeyPolicy())
        else:
            if known_hosts.exists():
                client.load_host_keys(str(known_hosts))
            if settings.host_key_policy is HostKeyPolicy.ACCEPT_NEW:
                client.set_missing_host_key_policy(_PinNewKeyPolicy(known_hosts))
            else:
                client.set_missing_host_key_policy(paramiko.RejectPolicy())
        key = load_private_key(settings.key_file) if settings.key_file else None
        where = f"{settings.user}@{self._target()}"
        try:
            client.connect(
                self.address, port=settings.port, username=settings.user, pkey=key,
                timeout=settings.connect_timeout, banner_timeout=settings.connect_timeout,
                auth_timeout=settings.connect_timeout, allow_agent=key is None,
                look_for_keys=key is None,
            )
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyMismatchError(
                self.name, f"the host key of {self._target()} ({exc.key.get_name()}) differs from "
                f"the one pinned in {known_hosts}; this may be a reinstalled machine or an attack",
                f"If the machine was reinstalled, remove the old key with `ssh-keygen -f "
                f"{known_hosts} -R '{self._target()}'` and connect again") from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            offered = f"key {settings.key_file}" if settings.key_file else "the agent/default keys"
            raise AuthenticationError(
                self.name, f"{where} rejected {offered}",
                "Add the public key to the user's ~/.ssh/authorized_keys on the host, or pass "
                "--ssh-key/--ssh-user for an authorized key and user") from exc
        except paramiko.SSHException as exc:
            client.close()
            if "not found in known_hosts" in str(exc):
                raise UnknownHostKeyError(
                    self.name, f"{self._target()} is not in {known_hosts} and strict host-key "
                    "checking is on", "Pin its key first (ssh-keyscan, after checking the "
                    "fingerprint), or pass --ssh-strict-host-key-checking accept-new") from exc
            raise HostUnreachableError(self.name, f"SSH handshake with {where} failed: {exc}",
                                       "Check that an SSH server listens there") from exc
        except TimeoutError as exc:
            client.close()
            raise HostUnreachableError(
                self.name, f"no answer from {self._target()} within "
                f"{settings.connect_timeout}s", "Check the address, the network and firewalls, "
                "or raise --ssh-connect-timeout") from exc
        except paramiko.ssh_exception.NoValidConnectionsError as exc:
            client.close()
            raise HostUnreachableError(
                self.name, f"connection to {self._target()} refused",
                "Check that sshd runs on the host and listens on that port (--ssh-port)") from exc
        except OSError as exc:
            client.close()
            raise HostUnreachableError(self.name, f"cannot connect to {self._target()}: "
                                       f"{exc.strerror or exc}", "Check the address and routes") from exc
        transport = client.get_transport()
        if transport is not None and isinstance(transport.sock, socket.socket):
            # Without it every channel open waits ~40 ms on Nagle + delayed ACK.
            transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return client

    def close(self) -> None:
        with self._lock:
            if self._sftp is not None:
                self._sftp.close()
                self._sftp = None
            if self._client is not None:
                self._client.close()
                self._client = None

    def is_reachable(self, timeout: float = 5.0) -> bool:
        """True if an SSH server answers at the address with a banner within `timeout`."""
        deadline = time.monotonic() + timeout
        try:
            with socket.create_connection((self.address, self.settings.port), timeout=timeout) as sock:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                return sock.recv(4).startswith(b"SSH-")
        except OSError:
            return False

    # -- commands -----------------------------------------------------------------------------

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
        client = self.connect()
        transport = client.get_transport()
        if transport is None:
            raise HostUnreachableError(self.name, "the SSH connection closed", "Retry")
        try:
            channel = transport.open_session(timeout=self.settings.connect_timeout)
            channel.exec_command(text)
            if stdin is not None:
                channel.sendall(stdin.encode() if isinstance(stdin, str) else stdin)
            channel.shutdown_write()
            exit_code, out, err = self._collect(channel, text, timeout, on_output)
        except paramiko.SSHException as exc:
            self.close()
            raise HostUnreachableError(self.name, f"SSH session failed while running {text!r}: "
                                       f"{exc}", "Check that the host is still up") from exc
        result = CommandResult(self.name, text, exit_code, out, err)
        return result.check() if check else result

    def _collect(self, channel: paramiko.Channel, text: str, timeout: float | None,
                 on_output: OutputCallback | None) -> tuple[int, str, str]:
        out = LineSplitter("stdout", on_output)
        err = LineSplitter("stderr", on_output)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            # fileno() makes the channel selectable for both stdout and stderr data and for close.
            fileno = channel.fileno()
            while True:
                while channel.recv_ready():
                    out.feed(channel.recv(65536))
                while channel.recv_stderr_ready():
                    err.feed(channel.recv_stderr(65536))
                if channel.exit_status_ready() and channel.eof_received and not (
                        channel.recv_ready() or channel.recv_stderr_ready()):
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise CommandTimeoutError(self.name, f"command {text!r} timed out after "
                                              f"{timeout}s", "Raise the timeout or fix the command")
                wait = 0.2 if remaining is None else min(0.2, remaining)
                select.select([fileno], [], [], wait)
            return channel.recv_exit_status(), out.finish(), err.finish()
        finally:
            channel.close()

    # -- files --------------------------------------------------------------------------------

    def _sftp_client(self) -> paramiko.SFTPClient:
        client = self.connect()
        with self._lock:
            if self._sftp is None:
                self._sftp = client.open_sftp()
            return self._sftp

    def put(self, data: bytes | str, path: str, mode: int = 0o644) -> None:
        payload = data.encode() if isinstance(data, str) else data
        directory = posixpath.dirname(path)
        temporary = posixpath.join(directory, f".{posixpath.basename(path)}.{uuid.uuid4().hex[:8]}")
        sftp = self._sftp_client()
        try:
            self._make_dirs(sftp, directory)
            with sftp.open(temporary, "wb") as handle:
                handle.chmod(mode)
                handle.write(payload)
            sftp.posix_rename(temporary, path)
        except OSError as exc:
            _remove_quietly(sftp, temporary)
            raise RemoteFileError(self.name, f"cannot write {path}: {_describe(exc)}") from exc

    def get(self, path: str) -> bytes:
        sftp = self._sftp_client()
        try:
            with sftp.open(path, "rb") as handle:
                data: bytes = handle.read()
                return data
        except OSError as exc:
            raise RemoteFileError(self.name, f"cannot read {path}: {_describe(exc)}") from exc

    @staticmethod
    def _make_dirs(sftp: paramiko.SFTPClient, directory: str) -> None:
        missing: list[str] = []
        while directory not in ("", "/"):
            try:
                sftp.stat(directory)
                break
            except FileNotFoundError:
                missing.append(directory)
                directory = posixpath.dirname(directory)
        for each in reversed(missing):
            sftp.mkdir(each, 0o755)


def _remove_quietly(sftp: paramiko.SFTPClient, path: str) -> None:
    with contextlib.suppress(OSError):
        sftp.remove(path)


def _describe(exc: Any) -> str:
    return str(getattr(exc, "strerror", None) or exc)


__all__ = ["HostKeyPolicy", "RemoteError", "SSHHost", "SSHSettings", "load_private_key"]
