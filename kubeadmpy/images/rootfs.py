"""Root file systems for the small images: a busybox-static userland and the pause entrypoint.

Debian's busybox-static is one statically linked binary, so a complete little userland is that
file plus one symlink per applet: about 1 MB, no libraries to chase. The pause image is the same
rootfs with an entrypoint that sleeps until SIGTERM/SIGINT and then exits at once (``sleep`` as
PID 1 would ignore SIGTERM and make every pod stop wait for its grace period).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.images.oci import Entry

BUSYBOX_CANDIDATES = (Path("/bin/busybox"), Path("/usr/bin/busybox"))
PAUSE_ENTRYPOINT = "/pause"

# PID 1 only receives signals it has a handler for; `trap` installs one. `wait` returns as soon
# as a trapped signal arrives, so the handler runs without waiting for the sleep to end.
PAUSE_SCRIPT = b"""#!/bin/sh
# kubeadmpy pause: hold the pod's namespaces until told to stop.
trap 'exit 0' TERM INT
while :; do
  sleep 86400 &
  wait $!
done
"""

_PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = b"root:x:0:\nnogroup:x:65534:\n"


class ImageSourceError(KubeadmpyError):
    """A host file an image is built from is missing or unusable."""


def find_busybox() -> Path:
    """The static busybox binary (package busybox-static)."""
    for candidate in BUSYBOX_CANDIDATES:
        if candidate.is_file():
            return candidate
    found = shutil.which("busybox")
    if found:
        return Path(found)
    raise ImageSourceError("busybox not found: install the Debian package busybox-static "
                           "(scripts/setup.sh does)")


@lru_cache(maxsize=4)
def busybox_applets(busybox: Path) -> tuple[str, ...]:
    """Install paths of every applet, e.g. ``bin/sh``, ``usr/bin/wc``."""
    listing = subprocess.run([str(busybox), "--list-full"], check=True, capture_output=True,
                             text=True, timeout=30).stdout
    return tuple(sorted(line.strip() for line in listing.splitlines() if line.strip()))


@lru_cache(maxsize=4)
def busybox_version(busybox: Path) -> str:
    """``1.35.0`` from ``BusyBox v1.35.0 (Debian ...)``."""
    banner = subprocess.run([str(busybox)], check=False, capture_output=True, text=True,
                            timeout=30).stdout
    match = re.search(r"BusyBox v(\d+(?:\.\d+)+)", banner)
    if not match:
        raise ImageSourceError(f"{busybox}: cannot read the BusyBox version from its banner")
    return match.group(1)


def base_entries() -> list[Entry]:
    """Folders and files every small image has (the runtime mounts /proc, /sys, /dev)."""
    return [
        Entry.directory("dev"), Entry.directory("proc"), Entry.directory("sys"),
        Entry.directory("etc"), Entry.directory("root", 0o700), Entry.directory("run"),
        Entry.directory("tmp", 0o1777), Entry.directory("var"),
        Entry.file("etc/passwd", _PASSWD), Entry.file("etc/group", _GROUP),
    ]


def busybox_entries(busybox: Path | None = None) -> list[Entry]:
    """A busybox userland: the binary at /bin/busybox and a symlink per applet."""
    binary = busybox or find_busybox()
    entries = base_entries()
    entries.append(Entry.copy("bin/busybox", binary, 0o755))
    for applet in busybox_applets(binary):
        if applet == "bin/busybox":
            continue
        depth = applet.count("/")
        entries.append(Entry.symlink(applet, "../" * depth + "bin/busybox"))
    return entries


def pause_entries(busybox: Path | None = None) -> list[Entry]:
    """The busybox userland plus the pause script at /pause."""
    return [*busybox_entries(busybox), Entry.file(PAUSE_ENTRYPOINT.lstrip("/"), PAUSE_SCRIPT,
                                                  0o755)]
