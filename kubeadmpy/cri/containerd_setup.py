"""Bring containerd up for the kubelet: the work of the init workflow's ``containerd`` phase.

`ensure_containerd` writes /etc/containerd/config.toml (rendered by `kubeadmpy.render`), starts
or restarts containerd — as a systemd unit where systemd is PID 1, under the built-in
`kubeadmpy.supervisor` elsewhere — and returns only once the CRI answers a Version call on the
socket, so the next phase can create pods at once. It is idempotent: with an unchanged config
and a running containerd it changes nothing. On a timeout the error carries containerd's last
log lines, which is where the reason is.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kubeadmpy.cri.client import VersionResponse, grpc_target, wait_for_runtime
from kubeadmpy.cri.errors import CRIError
from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.files import write_file
from kubeadmpy.paths import CONTAINERD_CONFIG, HostPaths
from kubeadmpy.render import (
    ContainerdValues,
    needs_restrict_oom_score_adj,
    render_containerd_config,
)
from kubeadmpy.render.units import CONTAINERD_UNIT, render_containerd_unit
from kubeadmpy.supervisor import ProcessSpec, Supervisor, systemd_is_init

CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
SUPERVISOR_NAME = "containerd"
DEFAULT_WAIT_SECONDS = 60.0
LOG_LINES_ON_FAILURE = 15

# "external": a containerd that kubeadmpy did not start already serves the socket.
ManagedBy = Literal["systemd", "supervisor", "external"]


class ContainerdStartError(KubeadmpyError):
    """containerd did not come up; the message ends with its last log lines."""


@dataclass(frozen=True)
class ContainerdStatus:
    """What `ensure_containerd` found or did."""

    endpoint: str  # unix:///... for the kubelet's --container-runtime-endpoint
    runtime_name: str
    runtime_version: str
    runtime_api_version: str
    managed_by: ManagedBy
    config_changed: bool
    started: bool  # started or restarted by this call
    pid: int | None = None  # supervisor-managed only
    log_path: Path | None = None


def containerd_values(sandbox_image: str, **overrides: str) -> ContainerdValues:
    """Values for this machine: cgroup driver from the init system, the oom check done here."""
    driver: Literal["systemd", "cgroupfs"] = "systemd" if systemd_is_init() else "cgroupfs"
    return ContainerdValues(sandbox_image=sandbox_image, cgroup_driver=driver,
                            restrict_oom_score_adj=needs_restrict_oom_score_adj(),
                            **overrides)


def _write_if_changed(path: Path, content: str, mode: int) -> bool:
    try:
        if path.read_text() == content:
            return False
    except OSError:
        pass
    write_file(path, content, mode)
    return True


def _tail(path: Path | None, lines: int = LOG_LINES_ON_FAILURE) -> str:
    if path is None:
        return ""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join(text)


def _systemctl(*args: str) -> None:
    done = subprocess.run(["systemctl", *args], check=False, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)
    if done.returncode != 0:
        raise ContainerdStartError(f"systemctl {' '.join(args)} failed: {done.stderr.strip()}")


def _containerd_binary() -> str:
    found = shutil.which("containerd")
    if not found:
        raise ContainerdStartError("containerd is not installed: install the Debian package "
                                   "containerd (scripts/setup.sh does)")
    return found


def _start_with_systemd(paths: HostPaths, config_changed: bool) -> bool:
    unit = render_containerd_unit(_containerd_binary(), str(CONTAINERD_CONFIG))
    unit_changed = False
    for logical, rendered in unit.items():
        unit_changed |= _write_if_changed(paths.host(logical), rendered.content, rendered.mode)
    if unit_changed:
        _systemctl("daemon-reload")
    _systemctl("enable", CONTAINERD_UNIT.name)
    if config_changed or unit_changed:
        _systemctl("restart", CONTAINERD_UNIT.name)
        return True
    done = subprocess.run(["systemctl", "is-active", "--quiet", CONTAINERD_UNIT.name],
                          check=False, stdin=subprocess.DEVNULL, timeout=60)
    if done.returncode != 0:
        _systemctl("start", CONTAINERD_UNIT.name)
        return True
    return False


def _start_with_supervisor(supervisor: Supervisor, argv: Sequence[str],
                           config_changed: bool) -> bool:
    current = supervisor.status(SUPERVISOR_NAME)
    if current.running and current.argv == tuple(argv) and not config_changed:
        return False
    if current.running:
        supervisor.stop(SUPERVISOR_NAME, timeout=20.0)
    supervisor.start(ProcessSpec(SUPERVISOR_NAME, tuple(argv)))
    return True


def _socket_listens(path: str) -> bool:
    """Whether something accepts connections on the unix socket `path` right now."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


async def _wait_answering(address: str, wait_seconds: float,
                          supervisor: Supervisor | None) -> VersionResponse:
    """Version from the socket; fails early when a supervised containerd has exited."""
    deadline = time.monotonic() + wait_seconds
    while True:
        remaining = deadline - time.monotonic()
        try:
            return await wait_for_runtime(address, max(0.1, min(1.0, remaining)))
        except CRIError as exc:
            exited = supervisor is not None and not supervisor.status(SUPERVISOR_NAME).running
            if exited or remaining <= 1.0:
                log = supervisor.log_file(SUPERVISOR_NAME) if supervisor else None
                what = "exited" if exited else \
                    f"did not answer CRI Version on {address} within {wait_seconds:g} s"
                tail = _tail(log) if log else "(see: journalctl -u containerd)"
                raise ContainerdStartError(
                    f"containerd {what} ({exc.detail}); its last log lines:\n{tail}") from exc


def _start(paths: HostPaths, values: ContainerdValues, use_systemd: bool
           ) -> tuple[ManagedBy, bool, bool]:
    """Write the config and (re)start containerd as needed: how, started?, config changed?"""
    rendered = render_containerd_config(values)[CONTAINERD_CONFIG]
    config_path = paths.host(CONTAINERD_CONFIG)
    config_changed = _write_if_changed(config_path, rendered.content, rendered.mode)
    address = values.grpc_address or CONTAINERD_SOCKET
    supervisor = Supervisor(paths)
    if use_systemd:
        return "systemd", _start_with_systemd(paths, config_changed), config_changed
    if not supervisor.status(SUPERVISOR_NAME).running and _socket_listens(address):
        # Starting a second containerd here would fight the first for the socket and the
        # boltdb lock; use it only if it can be running the configuration just written.
        if config_changed:
            raise ContainerdStartError(
                f"a containerd that kubeadmpy did not start already serves {address}; it does "
                f"not run the {CONTAINERD_CONFIG} just written. Restart it with that file "
                "(or stop it and run again to let kubeadmpy start containerd)")
        return "external", False, config_changed
    argv = (_containerd_binary(), "--config", str(config_path))
    return "supervisor", _start_with_supervisor(supervisor, argv, config_changed), \
        config_changed


async def ensure_containerd_async(paths: HostPaths, values: ContainerdValues, *,
                                  wait_seconds: float = DEFAULT_WAIT_SECONDS,
                                  use_systemd: bool | None = None) -> ContainerdStatus:
    """Write the config, (re)start containerd if needed, wait for the CRI to answer."""
    if use_systemd is None:
        use_systemd = systemd_is_init() and paths.root == Path("/")
    managed_by, started, config_changed = await asyncio.to_thread(
        _start, paths, values, use_systemd)
    address = values.grpc_address or CONTAINERD_SOCKET
    supervisor = Supervisor(paths) if managed_by == "supervisor" else None
    version = await _wait_answering(address, wait_seconds, supervisor)
    pid = supervisor.status(SUPERVISOR_NAME).pid if supervisor else None
    return ContainerdStatus(grpc_target(address), version.runtime_name, version.runtime_version,
                            version.runtime_api_version, managed_by, config_changed, started,
                            pid, supervisor.log_file(SUPERVISOR_NAME) if supervisor else None)


def ensure_containerd(paths: HostPaths, values: ContainerdValues, *,
                      wait_seconds: float = DEFAULT_WAIT_SECONDS,
                      use_systemd: bool | None = None) -> ContainerdStatus:
    """`ensure_containerd_async` for synchronous callers (the phase runner)."""
    return asyncio.run(ensure_containerd_async(paths, values, wait_seconds=wait_seconds,
                                               use_systemd=use_systemd))


def stop_containerd(paths: HostPaths, timeout: float = 20.0) -> bool:
    """Stop a supervisor-managed containerd (for `reset`); False if it was not running."""
    return Supervisor(paths).stop(SUPERVISOR_NAME, timeout=timeout)
