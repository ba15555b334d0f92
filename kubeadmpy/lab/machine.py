"""One lab machine: its private files, its namespaces, and the anchor process that keeps them.

A machine is a named network namespace plus a mount and a UTS namespace held by one long-lived
*anchor*: ``nsenter --net=/run/netns/NS unshare --mount --uts --propagation private sh anchor.sh``.
The script joins the machine's tracking cgroups, sets the hostname, mounts a fresh sysfs (so
/sys/class/net shows the machine's own interfaces) with the host's cgroup tree bound back, a
tmpfs /run, and the machine's private directories, then execs sshd in the foreground. From then
on everything reaches the machine over SSH, like a VM. (``ip netns exec`` is avoided on purpose:
it remounts /sys and hides /sys/fs/cgroup, which breaks runc.)

The anchor is started detached (``setsid -f``) so it outlives the `up` that made it, and writes
its pid to a file; sshd keeps that pid because every step execs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kubeadmpy.files import write_file
from kubeadmpy.lab.errors import LabError
from kubeadmpy.lab.hostnet import NETNS_DIR
from kubeadmpy.lab.manifest import Machine

# Directories each machine gets its own copy of (bind-mounted from the machine's state dir).
PRIVATE_DIRS: tuple[PurePosixPath, ...] = tuple(PurePosixPath(p) for p in (
    "/etc/kubernetes", "/etc/cni", "/etc/containerd", "/etc/kubeadmpy",
    "/var/lib/kubelet", "/var/lib/etcd", "/var/lib/containerd", "/var/lib/cni",
    "/var/lib/kubeadmpy", "/var/log",
    # root's kubeconfig (kubeadm tells users to copy admin.conf there) must not be shared.
    "/root/.kube",
))
# Host files replaced per machine (bind-mounted over the host's, inside the machine only; one
# the host lacks is skipped). root's .bashrc is replaced by a plain one, as on a fresh VM: the
# developer's shell set-up (pyenv, cargo...) costs tens of ms on every SSH command otherwise.
PRIVATE_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/root/.bashrc")
# cgroup hierarchies a machine's processes are tracked in, so cleanup finds every one of them.
TRACKING_HIERARCHIES = ("pids", "unified")
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT_PREFIX = "/kubeadmpy-lab"
MACHINE_IDENTITY = PurePosixPath("/etc/kubeadmpy/lab-machine.json")
SSHD = "/usr/sbin/sshd"

ANCHOR_SCRIPT = r"""#!/bin/sh
# The anchor of a kubeadmpy lab machine; see kubeadmpy/lab/machine.py for why each step exists.
set -eu
echo $$ > "$KPL_DIR/anchor.pid"
for procs in $KPL_CGROUP_PROCS; do echo $$ > "$procs"; done
hostname "$KPL_HOSTNAME"
# Drop copies of network-namespace handles: the machine must not keep other namespaces alive.
awk '{for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "nsfs") print $5; break }}' \
  /proc/self/mountinfo | while read -r handle; do umount -l "$handle" 2>/dev/null || true; done
mount --rbind /sys/fs/cgroup "$KPL_DIR/cgroup-aside"
mount -t sysfs sysfs /sys
mount --rbind "$KPL_DIR/cgroup-aside" /sys/fs/cgroup
umount -l "$KPL_DIR/cgroup-aside"
mount -t tmpfs -o mode=0755 tmpfs /run
# Node prep, as on a provisioned VM: a new netns copies the host's ip_forward, which may be 0.
# /proc/sys/net is the writer's own netns, so this changes this machine only, never the host.
echo 1 > /proc/sys/net/ipv4/ip_forward
mkdir -p /run/sshd /run/netns /run/kubeadmpy /run/containerd /run/lock
for dir in $KPL_PRIVATE_DIRS; do mount --bind "$KPL_DIR/root$dir" "$dir"; done
for file in $KPL_PRIVATE_FILES; do
  if [ -e "$file" ]; then mount --bind "$KPL_DIR/files$file" "$file"; fi
done
# containerd's CNI plugin dir: the host's plugins with this machine's own files on top (init and
# join write the flannel plugin launcher there; reset removes it), as on a separate VM.
if [ -d /usr/lib/cni ]; then
  mkdir -p "$KPL_DIR/cni-bin/upper" "$KPL_DIR/cni-bin/work"
  mount -t overlay overlay -o "lowerdir=/usr/lib/cni,upperdir=$KPL_DIR/cni-bin/upper,workdir=$KPL_DIR/cni-bin/work" /usr/lib/cni
fi
# Hide the other machines' state (their /etc/kubernetes, keys...); keep this machine's own.
mkdir /run/kubeadmpy-lab-self
mount --bind "$KPL_DIR" /run/kubeadmpy-lab-self
mount -t tmpfs -o mode=0755 tmpfs "$KPL_DIR/.."
mkdir "$KPL_DIR"
mount --move /run/kubeadmpy-lab-self "$KPL_DIR"
rmdir /run/kubeadmpy-lab-self
exec "$KPL_SSHD" -D -e -f "$KPL_DIR/sshd_config"
"""


@dataclass(frozen=True)
class MachineFiles:
    """What a machine's state directory must hold before its anchor starts."""

    lab: str
    machine: Machine
    hosts_file: str
    authorized_keys: Path
    host_private_key: bytes


def cgroup_parent(lab: str, machine: str) -> str:
    """The cgroup parent a machine's kubelet and containerd use (distinct per machine)."""
    return f"{CGROUP_PARENT_PREFIX}/{lab}/{machine}"


def lab_cgroup_dirs(lab: str) -> list[Path]:
    """The lab's cgroup directory in every mounted hierarchy (existing or not)."""
    dirs = []
    for hierarchy in sorted(p for p in CGROUP_ROOT.iterdir() if p.is_dir()):
        dirs.append(hierarchy / CGROUP_PARENT_PREFIX.strip("/") / lab)
    return dirs


def interpreter_dirs() -> list[str]:
    """Where kubeadmpy and the interpreter that made the lab live (not always on PATH)."""
    return list(dict.fromkeys([sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]))


def machine_path() -> str:
    """PATH of SSH sessions: kubeadmpy is found there, as on a provisioned VM."""
    return os.pathsep.join(dict.fromkeys([*interpreter_dirs(), "/usr/local/sbin",
                                          "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin",
                                          "/bin"]))


def sshd_config(machine: Machine, authorized_keys: Path) -> str:
    directory = Path(machine.directory)
    return "\n".join([
        f"# sshd of lab machine {machine.name}: reachable only on its lab address",
        f"ListenAddress {machine.ip}:{machine.ssh_port}",
        f"HostKey {directory / 'ssh_host_ed25519_key'}",
        "PidFile /run/sshd.pid",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        f"AuthorizedKeysFile {authorized_keys}",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "UseDNS no",
        # The state root may sit below world-writable /tmp in tests; keys are root-owned anyway.
        "StrictModes no",
        "PrintMotd no",
        "PrintLastLog no",
        "X11Forwarding no",
        "MaxStartups 100:30:200",
        "MaxSessions 100",
        f"SetEnv PATH={machine_path()}",
        "AcceptEnv LANG LC_*",
        "Subsystem sftp internal-sftp",
        "",
    ])


def prepare(files: MachineFiles) -> None:
    """Write the machine's state directory: keys, sshd config, private dirs and files."""
    machine = files.machine
    directory = Path(machine.directory)
    for logical in PRIVATE_DIRS:
        (directory / "root" / logical.relative_to("/")).mkdir(parents=True, exist_ok=True)
    (directory / "cgroup-aside").mkdir(parents=True, exist_ok=True)
    write_file(directory / "ssh_host_ed25519_key", files.host_private_key, mode=0o600)
    write_file(directory / "ssh_host_ed25519_key.pub", machine.host_public_key + "\n")
    write_file(directory / "sshd_config", sshd_config(machine, files.authorized_keys), mode=0o600)
    write_file(directory / "files/etc/hosts", files.hosts_file)
    write_file(directory / "files/etc/hostname", machine.name + "\n")
    # No resolver outside the lab: lookups of unknown names fail at once inside the machine.
    write_file(directory / "files/etc/resolv.conf",
               "# kubeadmpy lab: sealed, no upstream resolvers\nnameserver 127.0.0.1\n")
    for record in ("lastlog", "wtmp", "btmp"):  # sshd records logins there, as on any machine
        (directory / "root/var/log" / record).touch()
    # Login shells reset PATH in /etc/profile; put kubeadmpy's directory back in front.
    front = ":".join(interpreter_dirs())
    write_file(directory / "files/root/.bashrc",
               "# kubeadmpy lab machine: a plain shell, as on a fresh VM\n"
               f'case ":$PATH:" in *":{front}:"*) ;; *) PATH="{front}:$PATH" ;; esac\n'
               "export PATH\n")
    identity = {"lab": files.lab, "machine": machine.name, "role": str(machine.role),
                "ip": machine.ip, "cgroupParent": machine.cgroup_parent}
    write_file(directory / "root" / MACHINE_IDENTITY.relative_to("/"),
               json.dumps(identity, indent=2) + "\n")


def ensure_mount_points() -> list[str]:
    """Create host directories a machine mounts over that do not exist yet; return those made.

    A bind mount needs an existing target. The directories stay empty on the host (the
    machines' files live in their state dirs) and are removed again when the last lab is gone.
    """
    made = []
    for logical in (*PRIVATE_DIRS, *(PurePosixPath(f) for f in PRIVATE_FILES)):
        target = Path(logical)
        if not target.exists() and str(logical) not in PRIVATE_FILES:
            target.mkdir(parents=True)
            made.append(str(logical))
    return made


def start_anchor(machine: Machine) -> None:
    """Start the machine's anchor detached; it writes its pid file and becomes sshd."""
    directory = Path(machine.directory)
    write_file(directory / "anchor.sh", ANCHOR_SCRIPT, mode=0o755)
    (directory / "anchor.pid").unlink(missing_ok=True)
    procs = []
    for hierarchy in TRACKING_HIERARCHIES:
        group = CGROUP_ROOT / hierarchy / machine.cgroup_parent.strip("/")
        if (CGROUP_ROOT / hierarchy).is_dir():
            group.mkdir(parents=True, exist_ok=True)
            procs.append(str(group / "cgroup.procs"))
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "KPL_DIR": str(directory),
        "KPL_HOSTNAME": machine.name,
        "KPL_CGROUP_PROCS": " ".join(procs),
        "KPL_PRIVATE_DIRS": " ".join(str(d) for d in PRIVATE_DIRS),
        "KPL_PRIVATE_FILES": " ".join(PRIVATE_FILES),
        "KPL_SSHD": SSHD,
    }
    with (directory / "anchor.log").open("ab") as log:
        subprocess.run(
            ["setsid", "-f", "nsenter", f"--net={NETNS_DIR / machine.netns}", "unshare",
             "--mount", "--uts", "--propagation", "private", "/bin/sh",
             str(directory / "anchor.sh")],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, check=True,
        )


def read_anchor_pid(machine: Machine) -> int | None:
    try:
        return int((Path(machine.directory) / "anchor.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    """True if `pid` runs (a zombie has already left every namespace, so it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def sshd_answers(ip: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def wait_ready(machine: Machine, deadline: float) -> int:
    """Wait until the machine's sshd answers; return the anchor pid or explain the failure."""
    while True:
        pid = read_anchor_pid(machine)
        if pid is not None and not process_alive(pid):
            raise LabError(f"machine {machine.name}: its anchor exited during start-up: "
                           f"{anchor_log_tail(machine)}")
        if pid is not None and sshd_answers(machine.ip, machine.ssh_port, timeout=0.2):
            return pid
        if time.monotonic() > deadline:
            raise LabError(f"machine {machine.name}: sshd did not answer on {machine.ip}:"
                           f"{machine.ssh_port} in time: {anchor_log_tail(machine)}")
        time.sleep(0.01)


def anchor_log_tail(machine: Machine, lines: int = 5) -> str:
    try:
        text = (Path(machine.directory) / "anchor.log").read_text(errors="replace")
    except OSError:
        return "(no anchor log)"
    tail = text.strip().splitlines()[-lines:]
    return " | ".join(tail) if tail else "(anchor log is empty)"


def ssh_client_args(machine: Machine, private_key: str, known_hosts: str) -> list[str]:
    """OpenSSH client arguments reaching `machine` with the lab key and pinned host keys."""
    return ["ssh", "-i", private_key, "-p", str(machine.ssh_port),
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            f"root@{machine.ip}"]
