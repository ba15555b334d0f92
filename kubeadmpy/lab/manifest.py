"""The lab manifest: what a lab is made of, written where every other command can find it.

`up` writes ``<state root>/<lab>/manifest.json`` before it creates anything and again as machines
come up, so `status`, `ssh`, `inventory`, `down` and tests all read one record: machines, roles,
addresses, keys, namespaces and links. Cleanup never depends on it alone (names on the host are
recognisable), but it makes the normal path exact.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from kubeadmpy.files import write_file
from kubeadmpy.lab.errors import LabError

DEFAULT_STATE_ROOT = Path("/var/lib/kubeadmpy-lab")
STATE_ROOT_ENV = "KUBEADMPY_LAB_ROOT"
MANIFEST_NAME = "manifest.json"


def state_root(explicit: Path | None = None) -> Path:
    """Where labs keep their state: `explicit`, else $KUBEADMPY_LAB_ROOT, else the default."""
    if explicit is not None:
        return explicit
    return Path(os.environ.get(STATE_ROOT_ENV) or DEFAULT_STATE_ROOT)


class Role(StrEnum):
    CONTROL_PLANE = "control-plane"
    WORKER = "worker"


class LabPhase(StrEnum):
    CREATING = "creating"
    READY = "ready"


@dataclass(frozen=True)
class Machine:
    """One machine of a lab, as SSH clients and the installer need to know it."""

    name: str
    role: Role
    ip: str
    ssh_port: int
    netns: str
    veth: str
    cgroup_parent: str
    host_public_key: str
    directory: str
    anchor_pid: int | None = None


@dataclass(frozen=True)
class LabManifest:
    name: str
    index: int
    subnet: str
    gateway: str
    bridge: str
    directory: str
    private_key: str
    public_key: str
    known_hosts: str
    phase: LabPhase
    machines: tuple[Machine, ...] = field(default_factory=tuple)

    def with_machine(self, machine: Machine) -> LabManifest:
        machines = tuple(machine if m.name == machine.name else m for m in self.machines)
        return replace(self, machines=machines)

    def save(self) -> None:
        data = asdict(self)
        write_file(Path(self.directory) / MANIFEST_NAME, json.dumps(data, indent=2) + "\n",
                   mode=0o600)

    @classmethod
    def load(cls, path: Path) -> LabManifest:
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            machines = tuple(
                Machine(**{**m, "role": Role(m["role"])}) for m in data.pop("machines")
            )
            return cls(**{**data, "phase": LabPhase(data["phase"]), "machines": machines})
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise LabError(f"lab manifest {path} is unreadable ({exc}); run `kubeadmpy lab down "
                           f"--name {path.parent.name}` to remove what is left of the lab") from exc
