"""A private, throw-away containerd with its own CNI network, for node tests and benchmarks.

Several engineers and CI jobs run containerd on the same host at once, so a test must never use
/run/containerd or /var/lib/containerd. `ScratchContainerd` starts containerd through
`ensure_containerd` under a scratch `HostPaths` root, with its own root, state and socket
inside that folder, a bridge + host-local CNI config on a private bridge name and /24, and the
images it needs. `close` removes everything it made, also after a failure: sandboxes and
containers (through the CRI), containerd and its shims, mounts under the scratch folder, network
namespaces, the bridge and the CNI cache files of its network.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from kubeadmpy.cri.cleanup import RemovalReport, remove_all_pods
from kubeadmpy.cri.client import CRIClient
from kubeadmpy.cri.containerd_setup import ContainerdStatus, ensure_containerd_async
from kubeadmpy.cri.errors import CRIError
from kubeadmpy.images import catalog, store
from kubeadmpy.paths import HostPaths
from kubeadmpy.render import ContainerdValues, needs_restrict_oom_score_adj
from kubeadmpy.supervisor import Supervisor

# Pod networks of scratch runtimes: 10.88.<n>.0/24, with <n> picked free per runtime. The
# addresses live only in namespaces the runtime creates; nothing is routed elsewhere.
SCRATCH_POD_NETWORK_PREFIX = "10.88"
CNI_CACHE_DIR = Path("/var/lib/cni/results")
NETNS_DIR = Path("/var/run/netns")


@dataclass
class ScratchContainerd:
    """One private containerd; `await start()`, then `await close()` in a finally."""

    base: Path
    name: str = field(default_factory=lambda: f"kps{secrets.token_hex(3)}")
    status: ContainerdStatus | None = None
    subnet: str = ""
    netns_seen: set[str] = field(default_factory=set)

    @property
    def paths(self) -> HostPaths:
        return HostPaths(self.base / "node")

    @property
    def socket(self) -> str:
        return str(self.base / "containerd.sock")

    @property
    def endpoint(self) -> str:
        return f"unix://{self.socket}"

    @property
    def bridge(self) -> str:
        return self.name  # <= 15 characters, as Linux wants

    @property
    def cni_conf_dir(self) -> Path:
        return self.base / "cni"

    @property
    def pod_log_dir(self) -> Path:
        return self.base / "pods"

    def values(self) -> ContainerdValues:
        return ContainerdValues(
            sandbox_image=catalog.pause_reference(),
            cgroup_driver="cgroupfs",
            cni_conf_dir=str(self.cni_conf_dir),
            restrict_oom_score_adj=needs_restrict_oom_score_adj(),
            root_dir=str(self.base / "root"),
            state_dir=str(self.base / "state"),
            grpc_address=self.socket,
        )

    async def start(self, images: bool = True) -> ContainerdStatus:
        self.base.mkdir(parents=True, exist_ok=True)
        self.pod_log_dir.mkdir(exist_ok=True)
        self._write_cni_config()
        self.status = await ensure_containerd_async(self.paths, self.values(), use_systemd=False)
        if images:
            for recipe in (catalog.pause_recipe(), catalog.busybox_recipe()):
                store.ensure_image(recipe, self.paths, self.socket)
        return self.status

    def _write_cni_config(self) -> None:
        self.subnet = _free_subnet()
        self.cni_conf_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "cniVersion": "0.4.0",
            "name": self.name,
            "plugins": [
                {"type": "bridge", "bridge": self.bridge, "isGateway": True, "ipMasq": False,
                 "ipam": {"type": "host-local", "dataDir": str(self.base / "ipam"),
                          "ranges": [[{"subnet": self.subnet}]]}},
                {"type": "loopback"},
            ],
        }
        (self.cni_conf_dir / "10-scratch.conflist").write_text(json.dumps(config))

    async def remember_netns(self, client: CRIClient, sandbox_id: str) -> str:
        """The sandbox's network namespace path, kept for the clean-up."""
        status = await client.pod_sandbox_status(sandbox_id, verbose=True)
        info = json.loads(status.info.get("info", "{}"))
        for namespace in info.get("runtimeSpec", {}).get("linux", {}).get("namespaces", []):
            if namespace.get("type") == "network" and namespace.get("path"):
                self.netns_seen.add(namespace["path"])
                return str(namespace["path"])
        return ""

    async def remove_all_pods(self) -> RemovalReport:
        """Stop and remove every container and sandbox of this runtime."""
        async with CRIClient(self.endpoint, timeout=30.0) as client:
            for sandbox in await client.list_pod_sandbox():
                with contextlib.suppress(CRIError):
                    await self.remember_netns(client, sandbox.id)
            return await remove_all_pods(client)

    async def close(self) -> list[str]:
        """Remove everything; returns what could not be removed (empty when clean)."""
        problems: list[str] = []
        if self.status is not None and Supervisor(self.paths).status("containerd").running:
            try:
                problems += (await self.remove_all_pods()).left
            except CRIError as exc:
                problems.append(f"CRI clean-up: {exc}")
        return problems + await asyncio.to_thread(self._remove_host_state)

    def _remove_host_state(self) -> list[str]:
        """What is left once the CRI is done: processes, mounts, netns, bridge, CNI cache."""
        Supervisor(self.paths).stop("containerd", timeout=10.0)
        _kill_processes_mentioning(str(self.base))
        problems = _unmount_under(self.base)
        for path in sorted(self.netns_seen):
            netns = Path(path)
            if netns.exists():
                subprocess.run(["umount", "-l", path], check=False, capture_output=True)
                with contextlib.suppress(OSError):
                    netns.unlink()
        subprocess.run(["ip", "link", "delete", self.bridge], check=False, capture_output=True)
        if CNI_CACHE_DIR.is_dir():
            for cached in CNI_CACHE_DIR.glob(f"{self.name}-*"):
                cached.unlink(missing_ok=True)
        return problems


def _free_subnet() -> str:
    """A 10.88.<n>.0/24 that no route on this host uses yet."""
    routes = subprocess.run(["ip", "-4", "route", "show"], check=False, capture_output=True,
                            text=True).stdout
    for _ in range(200):
        candidate = f"{SCRATCH_POD_NETWORK_PREFIX}.{secrets.randbelow(200) + 20}.0/24"
        if candidate not in routes:
            return candidate
    raise RuntimeError("no free 10.88.x.0/24 subnet for a scratch containerd")


def _kill_processes_mentioning(text: str) -> None:
    """SIGKILL the shims (and anything else) whose command line names our scratch folder."""
    mine = os.getpid()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == mine:
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
        except OSError:
            continue
        if text in cmdline:
            with contextlib.suppress(OSError):
                os.kill(int(proc.name), signal.SIGKILL)
    time.sleep(0.1)


def _unmount_under(base: Path) -> list[str]:
    """Unmount every mount below `base`, deepest first (overlay rootfs, shm, netns binds)."""
    prefix = str(base.resolve())
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            mounts.append(point)
    problems = []
    for point in sorted(set(mounts), key=len, reverse=True):
        done = subprocess.run(["umount", "-R", point], check=False, capture_output=True,
                              text=True)
        if done.returncode != 0:
            lazy = subprocess.run(["umount", "-l", point], check=False, capture_output=True,
                                  text=True)
            if lazy.returncode != 0:
                problems.append(f"umount {point}: {lazy.stderr.strip()}")
    return problems
