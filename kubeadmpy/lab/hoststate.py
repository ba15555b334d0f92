"""Host-wide state shared by every lab: one lock, and the mount points the labs had to create.

Several labs (and several engineers' test runs) may come up at once on one host. The lock
serialises the short critical sections: picking a free lab index and creating or deleting the
host's network objects. The registry remembers which empty directories (such as
/etc/kubernetes) were created only to serve as bind-mount targets, so the last `down` can
remove them and leave the host as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from pathlib import Path

from kubeadmpy.files import write_file

HOST_STATE_DIR = Path("/run/kubeadmpy-lab")
LOCK_FILE = HOST_STATE_DIR / "lock"
MOUNT_POINT_REGISTRY = HOST_STATE_DIR / "created-mount-points.json"


@contextlib.contextmanager
def host_lock() -> Iterator[None]:
    """Hold the host-wide lab lock (blocking) for the duration of the block."""
    HOST_STATE_DIR.mkdir(parents=True, exist_ok=True)
    with LOCK_FILE.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def registered_mount_points() -> list[str]:
    try:
        data = json.loads(MOUNT_POINT_REGISTRY.read_text())
    except (OSError, ValueError):
        return []
    return [str(p) for p in data] if isinstance(data, list) else []


def register_mount_points(paths: list[str]) -> None:
    """Remember directories created for the labs (call with the host lock held)."""
    if paths:
        merged = sorted(set(registered_mount_points()) | set(paths))
        write_file(MOUNT_POINT_REGISTRY, json.dumps(merged) + "\n")


def remove_mount_points() -> list[str]:
    """Remove the registered directories that are still empty (host lock held, no lab left)."""
    removed = []
    # Deepest first, so /etc/cni/net.d would go before /etc/cni.
    for path in sorted(registered_mount_points(), key=len, reverse=True):
        with contextlib.suppress(FileNotFoundError):
            try:
                Path(path).rmdir()
                removed.append(path)
            except OSError:
                continue  # someone put files there: not ours to delete
    MOUNT_POINT_REGISTRY.unlink(missing_ok=True)
    return removed
