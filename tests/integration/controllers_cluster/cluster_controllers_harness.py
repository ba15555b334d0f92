"""Helpers for the cluster-controller tests (a uniquely named module: test folders share
`conftest`): run chosen controllers in-process against the real etcd + kubeadmpy-apiserver of
the apiserver suite's harness, register simulated nodes, and wait for what a user would see.

No kubelet exists yet, so `SimulatedNodes` plays its part where a test needs it: it registers
Node objects, renews their Leases in kube-node-lease and marks pods Ready through the status
subresource. Everything it starts is cancelled when the `async with` block ends.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apiserver"))

from kubeadmpy.client import Client, SharedInformerFactory, errors
from kubeadmpy.client.rest import PatchType
from kubeadmpy.controllers.registry import ControllerContext, ManagerOptions, Runnable

T = TypeVar("T")
Factory = Callable[[ControllerContext], Runnable]


def now_rfc3339(micro: bool = False) -> str:
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


@contextlib.asynccontextmanager
async def running_controllers(client: Client, options: ManagerOptions,
                              *factories: tuple[str, Factory],
                              clients: dict[str, Client] | None = None
                              ) -> AsyncIterator[dict[str, Runnable]]:
    """Start the named controllers on shared informers (as the manager does: informers read
    as `client`, each controller writes with `clients[name]` when given) and stop them all
    on exit, also when the test fails."""
    informers = SharedInformerFactory(client)
    writers = clients or {}
    built = {name: factory(ControllerContext(name, writers.get(name, client), informers,
                                             options))
             for name, factory in factories}
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(informers.run())]
        tasks += [group.create_task(runnable.run()) for runnable in built.values()]
        try:
            for runnable in built.values():
                started = getattr(getattr(runnable, "controller", None), "started", None)
                if started is not None:
                    await asyncio.wait_for(started.wait(), 30)
            yield built
        finally:
            for task in tasks:
                task.cancel()


async def eventually(check: Callable[[], Awaitable[T | None]], what: str,
                     seconds: float = 30.0) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` and the last value."""
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
        except errors.NotFound as exc:
            last = exc
        else:
            if last:
                return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting until {what}; last seen: {last!r}")


def openssl_csr(workdir: Path, stem: str, subject: str, san: str = "") -> tuple[Path, str]:
    """A new EC key and a PEM CSR for `subject` (openssl's /O=.../CN=... form)."""
    key = workdir / f"{stem}.key"
    args = ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", str(key), "-subj", subject]
    if san:
        args += ["-addext", f"subjectAltName={san}"]
    pem = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return key, pem


def csr_object(name: str, pem: str, signer: str, usages: list[str],
               expiration_seconds: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"request": base64.b64encode(pem.encode()).decode(), "signerName": signer,
                 "usages": usages}}
    if expiration_seconds is not None:
        body["spec"]["expirationSeconds"] = expiration_seconds
    return body


def openssl_verify(ca_file: str, cert: Path) -> str:
    result = subprocess.run(["openssl", "verify", "-CAfile", ca_file, str(cert)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@dataclass
class SimulatedNodes:
    """Nodes registered by the test as API objects, with a fake kubelet's lease renewals."""

    client: Client
    renew_interval: float = 0.5
    alive: set[str] = field(default_factory=set)

    async def add(self, name: str, *, ready: bool = True, labels: dict[str, str] | None = None
                  ) -> dict[str, Any]:
        node = await self.client.create("nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                   **(labels or {})}}})
        node = await self.post_status(name, ready)
        await self.client.create("leases", {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                     "renewTime": now_rfc3339(micro=True)}}, "kube-node-lease")
        self.alive.add(name)
        return node

    async def post_status(self, name: str, ready: bool) -> dict[str, Any]:
        """The kubelet's node status update: Ready (or not) with a fresh heartbeat."""
        stamp = now_rfc3339()
        return await self.client.patch("nodes", name, {"status": {"conditions": [{
            "type": "Ready", "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "message": "simulated kubelet", "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp}]}}, patch_type=PatchType.MERGE, subresource="status")

    def resume_renewing(self, name: str) -> None:
        self.alive.add(name)

    async def renew(self, name: str) -> None:
        await self.client.patch("leases", name, {"spec": {"renewTime": now_rfc3339(micro=True)}},
                                "kube-node-lease", patch_type=PatchType.MERGE)

    def stop_renewing(self, name: str) -> None:
        """The node's kubelet goes silent (crashed machine, cut network)."""
        self.alive.discard(name)

    async def renew_forever(self) -> None:
        while True:
            for name in sorted(self.alive):
                with contextlib.suppress(errors.APIError):
                    await self.renew(name)
            await asyncio.sleep(self.renew_interval)

    async def mark_pod_ready(self, namespace: str, pod: str, ip: str, ready: bool = True
                             ) -> None:
        """What the kubelet reports once a pod's containers pass their readiness probes."""
        current = await self.client.get("pods", pod, namespace)
        stamp = now_rfc3339()
        current["status"] = {
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                            "lastTransitionTime": stamp}]}
        await self.client.update_status("pods", current, namespace)


@contextlib.asynccontextmanager
async def simulated_nodes(client: Client, renew_interval: float = 0.5
                          ) -> AsyncIterator[SimulatedNodes]:
    nodes = SimulatedNodes(client, renew_interval)
    task = asyncio.create_task(nodes.renew_forever())
    try:
        yield nodes
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
