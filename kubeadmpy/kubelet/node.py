"""The Node object: registration, status (capacity, addresses, conditions, nodeInfo) and the
heartbeat Lease in kube-node-lease.

Facts come from this machine (/proc/meminfo, statvfs of the kubelet's root, /etc/os-release,
boot and machine ids) and from the runtime (Version, Status). Upstream's numbers are kept:
allocatable = capacity minus the hard eviction thresholds (memory.available<100Mi,
nodefs.available<10%); the Lease is renewed every quarter of its 40 s duration; the status is
written when it changes and at least every nodeStatusReportFrequency.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeadmpy.client import Client, Clock, PatchType, errors
from kubeadmpy.config import KUBERNETES_VERSION
from kubeadmpy.cri import CRIClient, CRIError
from kubeadmpy.kubelet.settings import KubeletSettings

log = logging.getLogger(__name__)
JSONObject = dict[str, Any]
KUBELET_VERSION = KUBERNETES_VERSION  # the release kubeadmpy emulates, as `kubeadmpy init` deploys
LEASE_NAMESPACE = "kube-node-lease"


def _read(path: str, default: str = "") -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


def memory_total_bytes() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def default_route_ip() -> str:
    """The source address of the default route (upstream's fallback node IP)."""
    route = subprocess.run(["ip", "-4", "route", "get", "1.1.1.1"], capture_output=True,
                           text=True, check=False).stdout.split()  # no packet is sent
    if "src" in route:
        return route[route.index("src") + 1]
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return "Linux"


def architecture() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


@dataclass(frozen=True)
class MachineFacts:
    cpus: int
    memory_bytes: int
    storage_bytes: int
    host_ip: str
    hostname: str

    def capacity(self, max_pods: int) -> dict[str, str]:
        return {"cpu": str(self.cpus), "memory": f"{self.memory_bytes // 1024}Ki",
                "ephemeral-storage": f"{self.storage_bytes // 1024}Ki",
                "hugepages-1Gi": "0", "hugepages-2Mi": "0", "pods": str(max_pods)}

    def allocatable(self, settings: KubeletSettings) -> dict[str, str]:
        memory = max(0, self.memory_bytes - settings.eviction_hard_memory_bytes)
        storage = self.storage_bytes * (100 - settings.eviction_hard_nodefs_percent) // 100
        return {**self.capacity(settings.max_pods), "memory": f"{memory // 1024}Ki",
                "ephemeral-storage": str(storage)}


def machine_facts(settings: KubeletSettings) -> MachineFacts:
    root = Path(settings.root_dir)
    root.mkdir(parents=True, exist_ok=True)
    stats = os.statvfs(root)
    return MachineFacts(os.cpu_count() or 1, memory_total_bytes(),
                        stats.f_blocks * stats.f_frsize,
                        settings.node_ip or default_route_ip(), socket.gethostname())


def node_labels(node_name: str) -> dict[str, str]:
    arch = architecture()
    return {"kubernetes.io/hostname": node_name, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": arch}


def _condition(kind: str, status: str, reason: str, message: str, stamp: str) -> JSONObject:
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}


async def runtime_problem(cri: CRIClient) -> str:
    """Why the runtime is not ready ("" when it is): upstream's NotReady messages."""
    try:
        status = await cri.status()
    except CRIError as exc:
        return f"container runtime is down: {exc.detail}"
    problems = []
    for condition in status.status.conditions:
        if not condition.status:
            what = "network" if condition.type == "NetworkReady" else "runtime"
            problems.append(f"container runtime {what} not ready: {condition.type}=false "
                            f"reason:{condition.reason} message:{condition.message}")
    return "; ".join(problems)


def node_status(settings: KubeletSettings, facts: MachineFacts, runtime_version: str,
                problem: str, stamp: str, kubelet_port: int | None = None) -> JSONObject:
    ready = ("True", "KubeletReady", "kubelet is posting ready status") if not problem \
        else ("False", "KubeletNotReady", problem)
    addresses = [{"type": "InternalIP", "address": facts.host_ip},
                 {"type": "Hostname", "address": settings.node_name}]
    return {
        "capacity": facts.capacity(settings.max_pods),
        "allocatable": facts.allocatable(settings),
        "conditions": [
            _condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                       "kubelet has sufficient memory available", stamp),
            _condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                       "kubelet has no disk pressure", stamp),
            _condition("PIDPressure", "False", "KubeletHasSufficientPID",
                       "kubelet has sufficient PID available", stamp),
            _condition("Ready", *ready, stamp),
        ],
        "addresses": addresses,
        "daemonEndpoints": {"kubeletEndpoint": {
            "Port": settings.port if kubelet_port is None else kubelet_port}},
        "nodeInfo": {
            "machineID": _read("/etc/machine-id"),
            "systemUUID": _read("/sys/class/dmi/id/product_uuid"),
            "bootID": _read("/proc/sys/kernel/random/boot_id"),
            "kernelVersion": platform.release(), "osImage": os_image(),
            "containerRuntimeVersion": runtime_version, "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "", "operatingSystem": "linux",
            "architecture": architecture(),
        },
    }


def _comparable(status: JSONObject) -> JSONObject:
    """The status without heartbeat times: what decides whether to write."""
    conditions = [{k: v for k, v in c.items() if k not in ("lastHeartbeatTime",
                                                            "lastTransitionTime")}
                  for c in status.get("conditions") or []]
    return {**status, "conditions": conditions}


class NodeStatusReporter:
    """Registers the node, then keeps its status and Lease fresh."""

    def __init__(self, client: Client, cri: CRIClient, settings: KubeletSettings,
                 facts: MachineFacts, clock: Clock) -> None:
        self.client = client
        self.cri = cri
        self.settings = settings
        self.facts = facts
        self.clock = clock
        self.registered = asyncio.Event()
        self.kubelet_port: int | None = None  # the port the API server bound (--port 0)
        self.node_uid = ""
        self._last_written: JSONObject | None = None
        self._last_write_at = 0.0
        self._transitions: dict[str, tuple[str, str]] = {}

    def _stamp(self) -> str:
        return self.clock.wall().strftime("%Y-%m-%dT%H:%M:%SZ")

    async def current_status(self) -> JSONObject:
        try:
            version = await self.cri.version()
            runtime_version = f"{version.runtime_name}://{version.runtime_version}"
        except CRIError:
            runtime_version = ""
        stamp = self._stamp()
        status = node_status(self.settings, self.facts, runtime_version,
                             await runtime_problem(self.cri), stamp, self.kubelet_port)
        for condition in status["conditions"]:  # keep transition times of steady conditions
            previous = self._transitions.get(condition["type"])
            if previous and previous[0] == condition["status"]:
                condition["lastTransitionTime"] = previous[1]
            self._transitions[condition["type"]] = (condition["status"],
                                                    condition["lastTransitionTime"])
        return status

    async def register(self) -> None:
        """Create the Node (or adopt the existing one); retried until the API answers."""
        name = self.settings.node_name
        if not self.settings.register_node:
            self.registered.set()  # registerNode: false — someone else made the Node
            return
        attempt = 0
        while True:
            try:
                body: JSONObject = {"apiVersion": "v1", "kind": "Node",
                                    "metadata": {"name": name, "labels": node_labels(name)},
                                    "spec": {}}
                if self.settings.register_with_taints:
                    body["spec"]["taints"] = [dict(t) for t in
                                              self.settings.register_with_taints]
                try:
                    node = await self.client.create("nodes", body)
                    log.info("registered node %s", name)
                except errors.AlreadyExists:
                    node = await self.client.patch("nodes", name, {"metadata": {
                        "labels": node_labels(name)}}, patch_type=PatchType.MERGE)
                    log.info("node %s was already registered", name)
                self.node_uid = str(node["metadata"].get("uid", ""))
                await self.write_status(force=True)
                self.registered.set()
                return
            except errors.APIError as exc:
                log.warning("registering node %s: %s; retrying", name, exc)
                # Short retries: during init the API server comes up a few seconds after us
                # and node Ready should follow at once (one cheap request per second).
                await self.clock.sleep(min(1.0, 0.1 * 2 ** min(attempt, 4)))
                attempt += 1

    async def write_status(self, force: bool = False) -> bool:
        status = await self.current_status()
        due = self.clock.now() - self._last_write_at >= \
            self.settings.node_status_report_frequency_seconds
        if not force and not due and self._last_written is not None and \
                _comparable(status) == _comparable(self._last_written):
            return False
        await self.client.patch("nodes", self.settings.node_name, {"status": status},
                                patch_type=PatchType.MERGE, subresource="status")
        self._last_written, self._last_write_at = status, self.clock.now()
        return True

    async def run_status_loop(self) -> None:
        await self.registered.wait()
        while True:
            # While NotReady (during init the CNI config appears moments later) look every
            # second, so Ready shows at once instead of up to nodeStatusUpdateFrequency later.
            period = self.settings.node_status_update_frequency_seconds
            await self.clock.sleep(period if self._written_ready() else min(1.0, period))
            try:
                await self.write_status()
            except errors.APIError as exc:
                log.warning("node status: %s", exc)

    def _written_ready(self) -> bool:
        conditions = (self._last_written or {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    def _lease(self) -> JSONObject:
        stamp = self.clock.wall().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        name = self.settings.node_name
        lease: JSONObject = {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": LEASE_NAMESPACE},
            "spec": {"holderIdentity": name,
                     "leaseDurationSeconds": self.settings.node_lease_duration_seconds,
                     "renewTime": stamp}}
        if self.node_uid:
            lease["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node",
                                                     "name": name, "uid": self.node_uid}]
        return lease

    async def renew_lease(self) -> JSONObject:
        name = self.settings.node_name
        lease = self._lease()
        try:
            return await self.client.patch("leases", name, {"spec": lease["spec"]},
                                           LEASE_NAMESPACE, patch_type=PatchType.MERGE)
        except errors.NotFound:
            return await self.client.create("leases", lease, LEASE_NAMESPACE)

    async def run_lease_loop(self) -> None:
        """Renew every quarter of the lease duration (10 s for upstream's 40 s)."""
        await self.registered.wait()
        interval = self.settings.node_lease_duration_seconds / 4
        while True:
            try:
                await self.renew_lease()
            except errors.APIError as exc:
                log.warning("node lease: %s", exc)
            await self.clock.sleep(interval)
