"""Many machines on one host, without VMs or Docker: ``kubeadmpy lab``.

Each machine is a network namespace on a lab bridge, a private mount and UTS namespace, and an
sshd; everything else reaches it over SSH, exactly as it would reach a VM. Public API::

    lab = kubeadmpy.lab.up(LabSpec(name="demo", control_planes=1, workers=2))
    with lab.host("cp1") as host:
        host.run("hostname", check=True)
    kubeadmpy.lab.down("demo")
"""

from kubeadmpy.lab.cleanup import Leftovers
from kubeadmpy.lab.errors import LabError, LabExistsError, LabNotFoundError
from kubeadmpy.lab.lab import (
    DEFAULT_LAB_NAME,
    Lab,
    LabSpec,
    MachineStatus,
    ProgressCallback,
    Stage,
    down,
    down_all,
    list_labs,
    load,
    up,
)
from kubeadmpy.lab.manifest import Machine, Role, state_root
from kubeadmpy.lab.network import LAB_RANGE

__all__ = [
    "DEFAULT_LAB_NAME",
    "LAB_RANGE",
    "Lab",
    "LabError",
    "LabExistsError",
    "LabNotFoundError",
    "LabSpec",
    "Leftovers",
    "Machine",
    "MachineStatus",
    "ProgressCallback",
    "Role",
    "Stage",
    "down",
    "down_all",
    "list_labs",
    "load",
    "state_root",
    "up",
]
