"""Fixture /proc and /sys trees: a healthy machine that each test bends in one place."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import pytest

CGROUPS_V1 = """#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t3\t1\t1
cpu\t1\t1\t1
cpuacct\t2\t1\t1
blkio\t7\t1\t1
memory\t4\t31\t1
devices\t5\t1\t1
freezer\t6\t1\t1
hugetlb\t0\t1\t1
pids\t8\t1\t1
"""

MOUNTS_HYBRID = """proc /proc proc rw 0 0
tmpfs /sys/fs/cgroup tmpfs rw,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0
"""

MOUNTS_UNIFIED = """proc /proc proc rw 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0
"""

HEALTHY_PROC = {
    "sys/kernel/osrelease": "6.1.0-18-amd64\n",
    "sys/kernel/ostype": "Linux\n",
    "meminfo": "MemTotal:        8041124 kB\nMemFree:         1000000 kB\n",
    "swaps": "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n",
    "cgroups": CGROUPS_V1,
    "mounts": MOUNTS_HYBRID,
    "filesystems": "nodev\tsysfs\nnodev\tcgroup\nnodev\tcgroup2\nnodev\toverlay\n\text4\n",
    "sys/net/ipv4/ip_forward": "1\n",
    "sys/net/ipv6/conf/default/forwarding": "1\n",
    "sys/net/bridge/bridge-nf-call-iptables": "1\n",
    "sys/net/bridge/bridge-nf-call-ip6tables": "1\n",
}

HEALTHY_SYS = {
    "devices/system/cpu/online": "0-3\n",
    "module/vxlan/parameters/udp_port": "8472\n",
    "module/overlay/parameters/metacopy": "N\n",
    "fs/cgroup/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
}


@dataclass
class MachineTree:
    """A scratch /proc + /sys pair; `set`/`remove` edit one file, paths relative to the root."""

    proc: Path
    sys: Path

    def set(self, root: str, relative: str, content: str | bytes) -> None:
        target = (self.proc if root == "proc" else self.sys) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)

    def remove(self, root: str, relative: str) -> None:
        target = (self.proc if root == "proc" else self.sys) / relative
        if target.is_dir():
            for child in sorted(target.rglob("*"), reverse=True):
                child.rmdir() if child.is_dir() else child.unlink()
            target.rmdir()
        else:
            target.unlink()

    def set_kernel_config(self, options: dict[str, str]) -> None:
        text = "\n".join(f"{key}={value}" for key, value in options.items()) + "\n"
        self.set("proc", "config.gz", gzip.compress(text.encode()))


@pytest.fixture
def machine(tmp_path: Path) -> MachineTree:
    tree = MachineTree(tmp_path / "proc", tmp_path / "sys")
    for relative, content in HEALTHY_PROC.items():
        tree.set("proc", relative, content)
    for relative, content in HEALTHY_SYS.items():
        tree.set("sys", relative, content)
    return tree
