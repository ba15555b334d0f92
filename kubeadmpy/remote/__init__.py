"""Reaching machines: run commands and move files on this machine or over SSH (paramiko).

Everything that acts on a machine goes through `Host`, so the installer, Ansible-like helpers and
the lab treat a lab machine, a Vagrant VM and a server the same way.
"""

from kubeadmpy.remote.errors import (
    AuthenticationError,
    CommandFailedError,
    CommandTimeoutError,
    HostKeyMismatchError,
    HostUnreachableError,
    RemoteError,
    RemoteFileError,
    UnknownHostKeyError,
)
from kubeadmpy.remote.host import (
    CommandResult,
    Host,
    OutputCallback,
    prefixed_printer,
    run_on_all,
)
from kubeadmpy.remote.local import LocalHost
from kubeadmpy.remote.ssh import HostKeyPolicy, SSHHost, SSHSettings, load_private_key, parse_host

__all__ = [
    "AuthenticationError",
    "CommandFailedError",
    "CommandResult",
    "CommandTimeoutError",
    "Host",
    "HostKeyMismatchError",
    "HostKeyPolicy",
    "HostUnreachableError",
    "LocalHost",
    "OutputCallback",
    "RemoteError",
    "RemoteFileError",
    "SSHHost",
    "SSHSettings",
    "UnknownHostKeyError",
    "load_private_key",
    "parse_host",
    "prefixed_printer",
    "run_on_all",
]
