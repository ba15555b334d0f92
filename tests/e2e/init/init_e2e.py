"""Driving a lab machine as a user would: `kubeadmpy init` over SSH, then the real kubectl there.

`Node` wraps one lab machine's SSH host. Every command runs inside the machine (its namespaces,
its /etc/kubernetes), exactly as on a VM; kubectl reads the machine's admin.conf.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kubeadmpy import lab as labs
from kubeadmpy.remote import CommandResult, SSHHost

T = TypeVar("T")

POD_CIDR = "10.244.0.0/16"
ADMIN_CONF = "/etc/kubernetes/admin.conf"
CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane:NoSchedule"
STATIC_PODS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
BUSYBOX_IMPORT = (
    "python3 -c 'from kubeadmpy.images import ensure_image, busybox_recipe; "
    "from kubeadmpy.paths import HostPaths; "
    "print(ensure_image(busybox_recipe(), HostPaths()).image.reference)'"
)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 90.0,
             interval: float = 0.5) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` and the last answer."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@dataclass
class Node:
    """One lab machine, reached over SSH."""

    lab: labs.Lab
    name: str
    host: SSHHost

    @property
    def ip(self) -> str:
        return self.lab.machine(self.name).ip

    def sh(self, command: str, *, check: bool = False, timeout: float = 240.0) -> CommandResult:
        return self.host.run(command, check=check, timeout=timeout)

    def kubeadmpy(self, *args: str, check: bool = False, timeout: float = 300.0) -> CommandResult:
        result = self.sh("kubeadmpy " + shlex.join(args) + " 2>&1", timeout=timeout)
        if check and result.exit_code != 0:
            raise AssertionError(f"kubeadmpy {' '.join(args)} failed:\n{result.stdout}")
        return result

    def init(self, *flags: str, check: bool = True) -> CommandResult:
        return self.kubeadmpy("init", "--pod-network-cidr", POD_CIDR, *flags, check=check)

    def reset(self, check: bool = True) -> CommandResult:
        return self.kubeadmpy("reset", "--force", check=check)

    def kubectl(self, *args: str, check: bool = True, kubectl: str = "kubectl",
                stdin: str | None = None) -> CommandResult:
        text = f"{kubectl} --kubeconfig {ADMIN_CONF} " + shlex.join(args)
        result = self.host.run(text, timeout=120.0, stdin=stdin)
        if check and result.exit_code != 0:
            raise AssertionError(f"{text} failed ({result.exit_code}):\n{result.stderr}")
        return result

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def node_ready(self) -> bool:
        result = self.kubectl("get", "node", self.name, "-o", "json", check=False)
        if result.exit_code != 0:
            return False
        conditions = json.loads(result.stdout)["status"].get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def wait_node_ready(self, timeout: float = 90.0) -> None:
        wait_for(f"node {self.name} to be Ready", self.node_ready, timeout)

    def allow_workloads(self) -> None:
        """A single-node cluster runs workloads on its control plane (kubeadm's docs' step)."""
        self.kubectl("taint", "node", self.name, f"{CONTROL_PLANE_TAINT}-", check=False)

    def import_busybox(self) -> str:
        return self.sh(BUSYBOX_IMPORT, check=True, timeout=120).stdout.strip().splitlines()[-1]

    def pod(self, name: str, namespace: str = "default") -> dict[str, Any]:
        return dict(self.get("pod", name, "-n", namespace))

    def pods(self, selector: str, namespace: str = "default") -> list[dict[str, Any]]:
        return list(self.get("pods", "-n", namespace, "-l", selector)["items"])

    def containerd_tasks(self) -> dict[str, int]:
        """container id -> pid of every running task in containerd's k8s.io namespace."""
        out = self.sh("ctr -n k8s.io tasks ls", check=True).stdout.splitlines()[1:]
        return {cols[0]: int(cols[1]) for line in out if (cols := line.split())
                and cols[2] == "RUNNING"}


def container_id(status: dict[str, Any]) -> str:
    return str(status.get("containerID", "")).removeprefix("containerd://")


def running_phase(pod: dict[str, Any]) -> bool:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return bool(statuses) and all("running" in (s.get("state") or {}) for s in statuses)


@dataclass
class Cluster:
    """The shared initialised machine and what its `init` printed."""

    node: Node
    init_output: str
    busybox: str
