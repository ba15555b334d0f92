"""Read-only facts about this machine's kernel, taken from /proc and /sys.

There is no modprobe and no /lib/modules on the machines we run on (and a preflight check must
not load modules anyway), so every fact comes from files the kernel publishes. Each reader takes
the root of the tree it reads (`proc_root`, `sys_root`), so unit tests can point it at a fixture
tree and the node tier at the real one. Nothing here writes anything.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
SYS = Path("/sys")

# Where cgroup controllers are mounted; statfs of it decides v1 vs v2 (we read /proc/mounts).
CGROUP_MOUNTPOINT = "/sys/fs/cgroup"


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist or cannot be read."""
    try:
        return path.read_text()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None


def kernel_release(proc_root: Path = PROC) -> str:
    """The running kernel's release string (what `uname -r` prints)."""
    text = read_text(proc_root / "sys/kernel/osrelease")
    return text.strip() if text else ""


def os_type(proc_root: Path = PROC) -> str:
    """The kernel's name (what `uname -s` prints), e.g. "Linux"."""
    text = read_text(proc_root / "sys/kernel/ostype")
    return text.strip() if text else ""


def kernel_version_tuple(release: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a release like "6.1.0-18-amd64", or None if it has no version."""
    match = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", release)
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def online_cpu_count(sys_root: Path = SYS) -> int | None:
    """Number of online CPUs from the kernel's range list ("0-3,6"), or None if unknown."""
    text = read_text(sys_root / "devices/system/cpu/online")
    if text is None or not text.strip():
        return None
    count = 0
    for part in text.strip().split(","):
        low, _, high = part.partition("-")
        count += int(high) - int(low) + 1 if high else 1
    return count


def total_memory_mb(proc_root: Path = PROC) -> int | None:
    """Total usable RAM in MiB (MemTotal of /proc/meminfo), or None if unknown."""
    text = read_text(proc_root / "meminfo")
    if text is None:
        return None
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            kib = int(line.split()[1])
            return kib // 1024
    return None


def swap_entries(proc_root: Path = PROC) -> list[str] | None:
    """Active swap devices listed in /proc/swaps (header dropped), or None if it is missing."""
    text = read_text(proc_root / "swaps")
    if text is None:
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[1:]


@dataclass(frozen=True)
class CgroupInfo:
    """Which cgroup layout the machine uses and which controllers are usable."""

    version: int  # 1 for legacy/hybrid (controllers on v1 hierarchies), 2 for unified
    controllers: frozenset[str]


def _mount_types(proc_root: Path) -> dict[str, str]:
    """Mount point → filesystem type from /proc/mounts (the last mount on a point wins)."""
    text = read_text(proc_root / "mounts") or ""
    result: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            result[fields[1]] = fields[2]
    return result


def cgroup_info(proc_root: Path = PROC, sys_root: Path = SYS) -> CgroupInfo | None:
    """The cgroup layout and enabled controllers, or None if no cgroup tree is mounted.

    Only a cgroup2 filesystem mounted *at* /sys/fs/cgroup means a unified (v2) machine. A hybrid
    machine (v1 controllers plus a v2 mount at /sys/fs/cgroup/unified, as here) runs containers
    on v1, so its controllers are the enabled ones in /proc/cgroups — the way runc and the kubelet
    see it. Upstream's validator takes the first cgroup2 mount it finds instead, which on a
    hybrid machine reports v1 controllers as missing.
    """
    mount_type: str | None = _mount_types(proc_root).get(CGROUP_MOUNTPOINT)
    if mount_type == "cgroup2":
        listed = read_text(sys_root / "fs/cgroup/cgroup.controllers") or ""
        controllers = set(listed.split())
        # Implicit on v2 and never listed in cgroup.controllers: device control is a BPF
        # program (kernel >= 4.15), freezing is cgroup.freeze (kernel >= 5.2).
        version = kernel_version_tuple(kernel_release(proc_root)) or (0, 0, 0)
        if version >= (4, 15, 0):
            controllers.add("devices")
        if version >= (5, 2, 0):
            controllers.add("freezer")
        return CgroupInfo(2, frozenset(controllers))
    text = read_text(proc_root / "cgroups")
    if mount_type is None and text is None:
        return None
    enabled: set[str] = set()
    for line in (text or "").splitlines():
        fields = line.split()
        if line.startswith("#") or len(fields) < 4:
            continue
        if fields[3] != "0":
            enabled.add(fields[0])
    return CgroupInfo(1, frozenset(enabled))


def filesystems(proc_root: Path = PROC) -> frozenset[str]:
    """Filesystem types the kernel can mount now (/proc/filesystems)."""
    text = read_text(proc_root / "filesystems") or ""
    return frozenset(line.split()[-1] for line in text.splitlines() if line.strip())


def module_present(name: str, proc_root: Path = PROC, sys_root: Path = SYS) -> bool:
    """Whether kernel module `name` is loaded or built in.

    Loaded and built-in modules with parameters appear under /sys/module; /proc/modules lists
    loaded ones (it does not exist on kernels built without module support).
    """
    if (sys_root / "module" / name).is_dir():
        return True
    text = read_text(proc_root / "modules") or ""
    return any(line.split()[0] == name for line in text.splitlines() if line.strip())


def kernel_config(proc_root: Path = PROC) -> dict[str, str] | None:
    """CONFIG_* options of the running kernel from /proc/config.gz, or None if not published."""
    path = proc_root / "config.gz"
    try:
        data = gzip.decompress(path.read_bytes()).decode(errors="replace")
    except (FileNotFoundError, PermissionError, OSError, EOFError):
        return None
    options: dict[str, str] = {}
    for line in data.splitlines():
        match = re.match(r"^(CONFIG_[A-Z0-9_]+)=([myn])", line.strip())
        if match:
            options[match[1]] = match[2]
    return options
