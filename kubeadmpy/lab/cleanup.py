"""Finding and removing everything a lab left on the host, with or without its manifest.

`down` must work after a crash, a SIGKILLed `up` or a half-made lab, so it reads the kernel's
own state: network namespaces named ``kubeadmpy-lab.<lab>.*``, links whose alias is
``kubeadmpy-lab:<lab>``, the nftables table ``kubeadmpy-lab-<lab>``, and cgroups under
``/kubeadmpy-lab/<lab>``. The processes of a machine are those inside its network namespace or
its cgroups (which also catches containers a kubelet started there); they are killed first, so
the mount and UTS namespaces they held disappear with them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from kubeadmpy.lab import hostnet, network
from kubeadmpy.lab.machine import CGROUP_PARENT_PREFIX, CGROUP_ROOT, lab_cgroup_dirs, process_alive
from kubeadmpy.lab.manifest import MANIFEST_NAME

KILL_ROUNDS = 20
CGROUP_BUSY_SECONDS = 5.0


@dataclass
class Leftovers:
    """What exists on the host for one lab."""

    lab: str
    netns: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    seal_tables: list[str] = field(default_factory=list)
    cgroup_dirs: list[Path] = field(default_factory=list)
    processes: list[int] = field(default_factory=list)
    state_dir: Path | None = None

    @property
    def empty(self) -> bool:
        return not (self.netns or self.links or self.seal_tables or self.cgroup_dirs
                    or self.processes or self.state_dir)


def lab_names_on_host(root: Path) -> set[str]:
    """Every lab that has anything on the host: namespaces, links, seal, cgroups or state."""
    names = {lab for ns in hostnet.list_netns() if (lab := network.lab_of_netns(ns))}
    names |= {lab for link in hostnet.list_lab_links() if (lab := network.lab_of_alias(link.alias))}
    names |= {t[len(hostnet.SEAL_TABLE_PREFIX):] for t in hostnet.list_seal_tables()}
    for hierarchy in CGROUP_ROOT.iterdir():
        parent = hierarchy / CGROUP_PARENT_PREFIX.strip("/")
        if parent.is_dir():
            names |= {p.name for p in parent.iterdir() if p.is_dir()}
    if root.is_dir():
        names |= {p.name for p in root.iterdir() if (p / MANIFEST_NAME).exists()
                  or (p / "machines").is_dir()}
    return names


def find_leftovers(lab: str, root: Path) -> Leftovers:
    found = Leftovers(lab)
    found.netns = [ns for ns in hostnet.list_netns() if network.lab_of_netns(ns) == lab]
    links = [link.name for link in hostnet.list_lab_links() if network.lab_of_alias(link.alias) == lab]
    # veth host ends ("kplab3-1") before the bridge ("kplab3").
    found.links = sorted(links, key=lambda name: ("-" not in name, name))
    found.seal_tables = [t for t in hostnet.list_seal_tables() if t == hostnet.seal_table(lab)]
    found.cgroup_dirs = [d for d in lab_cgroup_dirs(lab) if d.is_dir()]
    found.processes = sorted(machine_processes(found.netns, found.cgroup_dirs))
    state_dir = root / lab
    found.state_dir = state_dir if state_dir.exists() else None
    return found


def untagged_lab_links() -> list[str]:
    """Links named like a lab's (kplab<k>, kplab<k>-<n>) that carry no lab alias."""
    pattern = re.compile(rf"^{network.LINK_PREFIX}\d+(-\d+)?$")
    names = [link.name for link in hostnet.list_lab_links()
             if pattern.match(link.name) and network.lab_of_alias(link.alias) is None]
    return sorted(names, key=lambda name: ("-" not in name, name))


def machine_processes(netns: list[str], cgroup_dirs: list[Path]) -> set[int]:
    """Pids inside any of the namespaces or cgroups (never this process itself)."""
    wanted = {ident for ns in netns if (ident := hostnet.netns_inode(ns))}
    pids: set[int] = set()
    if wanted:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                st = os.stat(f"/proc/{entry.name}/ns/net")
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in wanted:
                pids.add(int(entry.name))
    for directory in cgroup_dirs:
        for procs in directory.rglob("cgroup.procs"):
            try:
                pids |= {int(line) for line in procs.read_text().split()}
            except (OSError, ValueError):
                continue
    pids |= descendants(pids)
    pids.discard(os.getpid())
    return {pid for pid in pids if process_alive(pid)}


def descendants(parents: set[int]) -> set[int]:
    """Every process below `parents`. A pod's containers run in their own network namespace
    and in cgroups the runtime picks, so only their ancestry (containerd-shim) ties them to
    the machine; they are collected before the shims die and they are reparented away."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found: set[int] = set()
    queue = list(parents)
    while queue:
        for child in children.get(queue.pop(), []):
            if child not in found and child not in parents:
                found.add(child)
                queue.append(child)
    return found


def kill_machine_processes(netns: list[str], cgroup_dirs: list[Path]) -> int:
    """SIGKILL every process of the machines until none is left; return how many were killed."""
    killed: set[int] = set()
    for _ in range(KILL_ROUNDS):
        pids = machine_processes(netns, cgroup_dirs)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(process_alive(p) for p in pids):
            time.sleep(0.01)
    return len(killed)


def remove_cgroup_tree(directory: Path) -> None:
    """rmdir a cgroup and its children, deepest first (cgroup dirs hold only control files)."""
    for current, _dirs, _files in os.walk(directory, topdown=False):
        try:
            os.rmdir(current)
        except FileNotFoundError:
            continue
        except OSError:
            # A cgroup stays busy until its killed processes are reaped; with a whole node's
            # worth (containerd, shims, kubelet) that takes longer than a moment.
            deadline = time.monotonic() + CGROUP_BUSY_SECONDS
            while time.monotonic() < deadline:
                time.sleep(0.05)
                try:
                    os.rmdir(current)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    continue
    parent = directory.parent
    if parent.name == CGROUP_PARENT_PREFIX.strip("/"):
        with contextlib.suppress(OSError):
            parent.rmdir()  # only succeeds once no lab uses the hierarchy


def remove(found: Leftovers) -> None:
    """Remove everything in `found`: processes, namespaces, links, seal, cgroups, state."""
    kill_machine_processes(found.netns, found.cgroup_dirs)
    for ns in found.netns:
        hostnet.delete_netns(ns)
    hostnet.delete_links(found.links)
    for table in found.seal_tables:
        hostnet.delete_seal(table)
    for directory in found.cgroup_dirs:
        remove_cgroup_tree(directory)
    if found.state_dir is not None:
        shutil.rmtree(found.state_dir, ignore_errors=True)
