"""Real processes and sockets for the preflight node tests, each cleaned up even on failure.

Everything lives under a short scratch root in /tmp (unix socket paths must stay short), uses
ports the kernel hands out as free, and talks only to loopback.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STARTUP_TIMEOUT = 30.0  # seconds; generous for a loaded CI machine, never asserted on


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not condition():
        if process.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {STARTUP_TIMEOUT}s")
        time.sleep(0.02)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def scratch_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="kp-pf-", dir="/tmp"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick, released at once)."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.bind(("::", 0))
        return int(sock.getsockname()[1])


@contextmanager
def listening_on(host: str) -> Iterator[int]:
    """Hold a listening TCP socket on `host` at a free port; yields the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


@dataclass
class Containerd:
    endpoint: str  # logical: unix:///var/run/containerd/containerd.sock under the root
    process: subprocess.Popen[bytes]


@contextmanager
def running_containerd(root: Path) -> Iterator[Containerd]:
    """A real containerd with its own state under `root`, serving the default socket path."""
    socket_path = root / "var/run/containerd/containerd.sock"
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    config = root / "containerd.toml"
    config.write_text(
        "version = 2\n"
        f'root = "{root}/var/lib/containerd"\n'
        f'state = "{root}/run/containerd"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{socket_path}"\n'
        f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{root}/opt/containerd"\n'
    )
    log = (root / "containerd.log").open("wb")
    process = subprocess.Popen(
        ["containerd", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(socket_path.is_socket, "containerd socket", process)
        yield Containerd("unix:///var/run/containerd/containerd.sock", process)
    finally:
        stop(process)
        log.close()


@dataclass
class Etcd:
    client_port: int
    peer_port: int
    data_dir: str  # logical


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def running_etcd(root: Path) -> Iterator[Etcd]:
    """A real single-member etcd on loopback with its data dir at /var/lib/etcd under `root`."""
    client, peer = free_port(), free_port()
    data_dir = root / "var/lib/etcd"
    log = (root / "etcd.log").open("wb")
    process = subprocess.Popen(
        [
            "etcd",
            "--name=preflight",
            f"--data-dir={data_dir}",
            f"--listen-client-urls=http://127.0.0.1:{client}",
            f"--advertise-client-urls=http://127.0.0.1:{client}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=preflight=http://127.0.0.1:{peer}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: _accepts(client), "etcd client port", process)
        yield Etcd(client, peer, "/var/lib/etcd")
    finally:
        stop(process)
        log.close()


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: what a crash does; the process cannot remove its socket."""
    process.send_signal(signal.SIGKILL)
    process.wait()


def tree_state(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """Path → (mode, size, mtime_ns, sha256) of everything under `root`."""
    state: dict[str, tuple[int, int, int, str]] = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(directory) / name
            info = path.lstat()
            digest = ""
            if path.is_file() and not path.is_symlink():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            state[str(path.relative_to(root))] = (
                info.st_mode,
                info.st_size,
                info.st_mtime_ns,
                digest,
            )
    return state
