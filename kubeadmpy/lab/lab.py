"""Bringing labs up and down, and the `Lab` handle other code uses to reach their machines.

`up` makes the host side under the host-wide lock (index, bridge, namespaces, veths, seal),
then starts every machine's anchor at once and waits for each sshd. The manifest is written
before anything is created, so a crash at any point leaves a lab that `down` can remove; and
`down` reads the host's state as well, so it also works when the manifest never got written.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from kubeadmpy.errors import UserInputError
from kubeadmpy.files import write_file
from kubeadmpy.lab import cleanup, hostnet, hoststate, keys, machine, network
from kubeadmpy.lab.errors import LabError, LabExistsError, LabNotFoundError
from kubeadmpy.lab.inventory import render_inventory
from kubeadmpy.lab.manifest import MANIFEST_NAME, LabManifest, LabPhase, Machine, Role, state_root
from kubeadmpy.remote import HostKeyPolicy, SSHHost, SSHSettings

DEFAULT_LAB_NAME = "default"
SSH_PORT = 22



class Stage(StrEnum):
    """Where a machine is while `up` runs, in order."""

    PLANNED = "planned"  # in the manifest, keys and files written
    WIRED = "wired"  # namespace, veth and seal exist
    STARTING = "starting"  # anchor launched
    READY = "ready"  # sshd answers


ProgressCallback = Callable[[str, Stage], None]
"""Called with (machine name, stage) as each machine moves through the `Stage`s."""


@dataclass(frozen=True)
class LabSpec:
    """What `up` should make."""

    name: str = DEFAULT_LAB_NAME
    control_planes: int = 1
    workers: int = 0
    state_root: Path | None = None
    ready_timeout: float = 30.0

    def validate(self) -> LabSpec:
        network.validate_name("--name", self.name)
        if self.control_planes < 1:
            raise UserInputError("--control-planes", f"{self.control_planes} is too few",
                                 "A lab needs at least 1 control-plane machine")
        if self.workers < 0:
            raise UserInputError("--workers", f"{self.workers} is negative", "Use 0 or more")
        if self.ready_timeout <= 0:
            raise UserInputError("--timeout", f"{self.ready_timeout} is not positive",
                                 "Use a number of seconds greater than 0")
        if self.control_planes + self.workers > network.MAX_MACHINES:
            raise UserInputError("--workers", f"{self.control_planes + self.workers} machines "
                                 f"in total is too many", f"Use at most {network.MAX_MACHINES}")
        return self

    def machine_roles(self) -> list[tuple[str, Role]]:
        return ([(f"cp{i}", Role.CONTROL_PLANE) for i in range(1, self.control_planes + 1)]
                + [(f"w{i}", Role.WORKER) for i in range(1, self.workers + 1)])


@dataclass(frozen=True)
class MachineStatus:
    machine: Machine
    running: bool
    reachable: bool


class Lab:
    """A lab that exists on this host, read from its manifest."""

    def __init__(self, manifest: LabManifest, created: bool = True) -> None:
        self.manifest = manifest
        self.created = created  # False when `up` found the same lab already running

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def directory(self) -> Path:
        return Path(self.manifest.directory)

    @property
    def machines(self) -> tuple[Machine, ...]:
        return self.manifest.machines

    def hosts(self, role: Role | None = None) -> list[SSHHost]:
        """SSH hosts for every machine (of `role`, if given), in manifest order."""
        return [self.host(m) for m in self.machines if role is None or m.role is role]

    @property
    def inventory_path(self) -> Path:
        return self.directory / "inventory.yaml"

    @property
    def ssh_config_path(self) -> Path:
        return self.directory / "ssh_config"

    def machine(self, name: str) -> Machine:
        for each in self.machines:
            if each.name == name:
                return each
        known = ", ".join(m.name for m in self.machines)
        raise UserInputError("MACHINE", f"lab {self.name!r} has no machine {name!r}",
                             f"Use one of: {known}")

    def ssh_settings(self, machine: Machine) -> SSHSettings:
        return SSHSettings(user="root", port=machine.ssh_port,
                           key_file=Path(self.manifest.private_key),
                           known_hosts=Path(self.manifest.known_hosts),
                           host_key_policy=HostKeyPolicy.STRICT, connect_timeout=5.0)

    def host(self, machine: str | Machine) -> SSHHost:
        """A `remote.Host` reaching the machine over SSH with the lab key and pinned host key."""
        target = self.machine(machine) if isinstance(machine, str) else machine
        return SSHHost(target.ip, self.ssh_settings(target), name=target.name)

    def ssh_args(self, machine: str | Machine) -> list[str]:
        """The OpenSSH client command line that reaches the machine (append a command)."""
        target = self.machine(machine) if isinstance(machine, str) else machine
        return machine_ssh_args(self.manifest, target)

    def inventory(self) -> str:
        return render_inventory(self.manifest)

    def status(self) -> list[MachineStatus]:
        result = []
        for each in self.machines:
            pid = each.anchor_pid or machine.read_anchor_pid(each)
            running = pid is not None and machine.process_alive(pid)
            reachable = running and machine.sshd_answers(each.ip, each.ssh_port, timeout=1.0)
            result.append(MachineStatus(each, running, reachable))
        return result


def machine_ssh_args(manifest: LabManifest, target: Machine) -> list[str]:
    return machine.ssh_client_args(target, manifest.private_key, manifest.known_hosts)


def load(name: str, root: Path | None = None) -> Lab:
    """The lab called `name`, or `LabNotFoundError` saying which labs exist."""
    network.validate_name("--name", name)
    path = state_root(root) / name / MANIFEST_NAME
    if not path.exists():
        existing = ", ".join(list_labs(root)) or "none"
        raise LabNotFoundError(f"no lab named {name!r} (labs: {existing}); create it with "
                               f"`kubeadmpy lab up --name {name}`")
    return Lab(LabManifest.load(path), created=False)


def list_labs(root: Path | None = None) -> list[str]:
    base = state_root(root)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / MANIFEST_NAME).exists())


def up(spec: LabSpec, progress: ProgressCallback | None = None) -> Lab:
    """Create the lab `spec` describes and return it once every machine answers over SSH.

    If a lab of that name already runs with the same machines, return it (``created`` False);
    if something else of that name exists, raise `LabExistsError` and change nothing.
    """
    spec.validate()
    notify = progress or (lambda _machine, _stage: None)
    root = state_root(spec.state_root)
    with hoststate.host_lock():
        existing = _existing_lab(spec, root)
        if existing is not None:
            return existing
        manifest = _plan(spec, root, _free_index(root))
        manifest.save()
        for each in manifest.machines:
            notify(each.name, Stage.PLANNED)
        try:
            hoststate.register_mount_points(machine.ensure_mount_points())
            hostnet.create_bridge_and_links(manifest.name, manifest.index, [
                hostnet.MachineLink(m.netns, m.veth, ipaddress.IPv4Address(m.ip))
                for m in manifest.machines])
            hostnet.add_seal(manifest.name, manifest.index)
        except BaseException:
            cleanup.remove(cleanup.find_leftovers(spec.name, root))
            raise
    try:
        manifest = _start_machines(manifest, spec, notify)
    except BaseException:
        down(spec.name, spec.state_root)
        raise
    return Lab(manifest)


def _existing_lab(spec: LabSpec, root: Path) -> Lab | None:
    found = cleanup.find_leftovers(spec.name, root)
    if found.empty:
        return None
    fix = f"Run `kubeadmpy lab down --name {spec.name}` first, or pick another --name"
    path = root / spec.name / MANIFEST_NAME
    if not path.exists():
        raise LabExistsError(f"lab {spec.name!r} is half made (no manifest). {fix}")
    lab = Lab(LabManifest.load(path), created=False)
    wanted = [(name, role) for name, role in spec.machine_roles()]
    if [(m.name, m.role) for m in lab.machines] != wanted:
        raise LabExistsError(f"lab {spec.name!r} already exists with other machines "
                             f"({', '.join(m.name for m in lab.machines)}). {fix}")
    if lab.manifest.phase is not LabPhase.READY or not all(s.reachable for s in lab.status()):
        raise LabExistsError(f"lab {spec.name!r} exists but is not fully up. {fix}")
    return lab


def _free_index(root: Path) -> int:
    used = hostnet.used_lab_indexes()
    for name in list_labs(root):
        try:
            used.add(LabManifest.load(root / name / MANIFEST_NAME).index)
        except LabError:
            continue
    # A subnet some other route already covers (a VPN, another tool) is never taken.
    routed = hostnet.routed_networks()
    for index in range(network.FIRST_LAB_INDEX, network.LAST_LAB_INDEX + 1):
        subnet = network.lab_subnet(index)
        if index not in used and not any(subnet.overlaps(n) for n in routed):
            return index
    raise LabError(f"no free /24 left in {network.LAB_RANGE} for another lab; remove labs with "
                   "`kubeadmpy lab down --all`")


def _plan(spec: LabSpec, root: Path, index: int) -> LabManifest:
    lab_dir = root / spec.name
    ssh_dir = lab_dir / "ssh"
    client = keys.new_key_pair(f"kubeadmpy-lab-{spec.name}")
    client.write(ssh_dir / "id_ed25519")
    write_file(ssh_dir / "authorized_keys", client.public_line + "\n", mode=0o600)
    machines = []
    host_keys: dict[str, bytes] = {}
    for position, (name, role) in enumerate(spec.machine_roles()):
        host_key = keys.new_key_pair(f"root@{name}")
        host_keys[name] = host_key.private_openssh
        machines.append(Machine(
            name=name, role=role, ip=str(network.machine_address(index, position)),
            ssh_port=SSH_PORT, netns=network.netns_name(spec.name, name),
            veth=network.veth_name(index, position),
            cgroup_parent=machine.cgroup_parent(spec.name, name),
            host_public_key=host_key.public_line, directory=str(lab_dir / "machines" / name)))
    manifest = LabManifest(
        name=spec.name, index=index, subnet=str(network.lab_subnet(index)),
        gateway=str(network.gateway_address(index)), bridge=network.bridge_name(index),
        directory=str(lab_dir), private_key=str(ssh_dir / "id_ed25519"),
        public_key=client.public_line, known_hosts=str(ssh_dir / "known_hosts"),
        phase=LabPhase.CREATING, machines=tuple(machines))
    _write_client_files(manifest)
    hosts_file = _hosts_file(manifest)
    for each in machines:
        machine.prepare(machine.MachineFiles(spec.name, each, hosts_file,
                                             ssh_dir / "authorized_keys", host_keys[each.name]))
    return manifest


def _hosts_file(manifest: LabManifest) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             f"# kubeadmpy lab {manifest.name}", f"{manifest.gateway}\tlab-gateway"]
    lines += [f"{m.ip}\t{m.name} {m.name}.{manifest.name}.lab" for m in manifest.machines]
    return "\n".join(lines) + "\n"


def _write_client_files(manifest: LabManifest) -> None:
    write_file(Path(manifest.known_hosts), "".join(
        keys.known_hosts_line([m.name, m.ip], m.host_public_key) + "\n"
        for m in manifest.machines), mode=0o644)
    blocks = [f"# ssh -F {manifest.directory}/ssh_config MACHINE\n"]
    for each in manifest.machines:
        blocks.append(
            f"Host {each.name}\n  HostName {each.ip}\n  Port {each.ssh_port}\n  User root\n"
            f"  IdentityFile {manifest.private_key}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {manifest.known_hosts}\n  StrictHostKeyChecking yes\n")
    write_file(Path(manifest.directory) / "ssh_config", "\n".join(blocks))


def _start_machines(manifest: LabManifest, spec: LabSpec, notify: ProgressCallback) -> LabManifest:
    for each in manifest.machines:
        notify(each.name, Stage.WIRED)
    for each in manifest.machines:
        machine.start_anchor(each)
        notify(each.name, Stage.STARTING)
    deadline = time.monotonic() + spec.ready_timeout
    for each in manifest.machines:
        pid = machine.wait_ready(each, deadline)
        manifest = manifest.with_machine(replace(each, anchor_pid=pid))
        manifest.save()
        notify(each.name, Stage.READY)
    manifest = replace(manifest, phase=LabPhase.READY)
    manifest.save()
    write_file(Path(manifest.directory) / "inventory.yaml", render_inventory(manifest))
    return manifest


def down(name: str, root: Path | None = None) -> cleanup.Leftovers:
    """Remove everything of lab `name` (also a half-made one); return what was found."""
    network.validate_name("--name", name)
    base = state_root(root)
    with hoststate.host_lock():
        found = cleanup.find_leftovers(name, base)
        cleanup.remove(found)
        _forget_mount_points_if_last()
        _remove_if_empty(base)
    return found


def down_all(root: Path | None = None) -> list[str]:
    """Remove every lab on this host (found by name on the host and under the state root)."""
    base = state_root(root)
    removed = []
    with hoststate.host_lock():
        for name in sorted(cleanup.lab_names_on_host(base)):
            cleanup.remove(cleanup.find_leftovers(name, base))
            removed.append(name)
        # Links a killed `up` made before it could tag them with the lab's alias.
        hostnet.delete_links(cleanup.untagged_lab_links())
        _forget_mount_points_if_last()
        _remove_if_empty(base)
    return removed


def _remove_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):
        directory.rmdir()


def _forget_mount_points_if_last() -> None:
    no_namespaces = not any(network.lab_of_netns(ns) for ns in hostnet.list_netns())
    if no_namespaces and not hostnet.list_lab_links():
        hoststate.remove_mount_points()
