"""Stopping what init started on this machine: the kubelet, then every pod it ran in containerd.

Only on the real root: a `--root-dir` scratch tree has no processes of its own. Best effort, as
kubeadm: what cannot be removed is reported, and the reset goes on.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

from kubeadmpy.cri import CRIClient, CRIError, remove_all_pods
from kubeadmpy.paths import HostPaths
from kubeadmpy.supervisor import Supervisor, systemd_is_init

CONTAINERD_SOCKET = Path("/run/containerd/containerd.sock")
KUBELET = "kubelet"
CONTAINERD = "containerd"


def stop_kubelet(paths: HostPaths, out: Callable[[str], None]) -> None:
    if systemd_is_init():
        subprocess.run(["systemctl", "stop", "kubelet"], check=False, capture_output=True)
        out("[reset] Stopping the kubelet service")
        return
    if Supervisor(paths).stop(KUBELET):
        out("[reset] Stopped the kubelet (supervisor)")


def remove_pods(out: Callable[[str], None], socket: Path = CONTAINERD_SOCKET) -> list[str]:
    """Stop and remove every container and sandbox; returns what was left behind."""
    if not socket.exists():
        return []

    async def go() -> list[str]:
        async with CRIClient(f"unix://{socket}", timeout=60.0) as cri:
            report = await remove_all_pods(cri)
        out(f"[reset] Removed {report.containers} containers and {report.sandboxes} pod sandboxes")
        return report.left

    try:
        return asyncio.run(go())
    except CRIError as exc:
        return [f"containerd at {socket}: {exc}"]


def mounts_under(directory: Path, mountinfo: Path = Path("/proc/self/mountinfo")) -> list[Path]:
    """Mount points at or below `directory`, deepest first (so children go before parents)."""
    prefix = str(directory.resolve()).rstrip("/") + "/"
    found = []
    for line in mountinfo.read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if (point + "/").startswith(prefix):
            found.append(Path(point))
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def unmount_under(directory: Path, out: Callable[[str], None]) -> list[str]:
    """Unmount the kubelet's volume mounts before their directories are deleted."""
    left = []
    for point in mounts_under(directory):
        done = subprocess.run(["umount", str(point)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lazy = subprocess.run(
                ["umount", "-l", str(point)], capture_output=True, text=True, check=False
            )
            if lazy.returncode != 0:
                left.append(f"mount {point}: {done.stderr.strip()}")
                continue
        out(f"[reset] Unmounted {point}")
    return left


def delete_link(name: str) -> str | None:
    """Delete network device `name` of this machine if it exists; a problem, else None."""
    if not Path("/sys/class/net", name).exists():
        return None
    done = subprocess.run(["ip", "link", "delete", name], capture_output=True, text=True,
                          check=False)
    return None if done.returncode == 0 else f"link {name}: {done.stderr.strip()}"


def containerd_left_running(paths: HostPaths) -> str | None:
    """The note about a containerd kubeadmpy's supervisor started, when it still runs."""
    status = Supervisor(paths).status(CONTAINERD)
    if not status.running:
        return None
    return (f"containerd keeps running (pid {status.pid}, started by kubeadmpy, log "
            f"{status.log_path}) with its images, so the next init does not import them again.")
