"""Helpers for the workload-controller tests: settings, namespaces, a stand-in kubelet, waits."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from kubeadmpy.client import Client, errors
from kubeadmpy.client.component import ComponentSettings
from kubeadmpy.controllers.manager import ManagerSettings
from kubeadmpy.controllers.registry import CONTROLLERS, select_controllers
from kubeadmpy.scheduler import main as scheduler_main
from kubeadmpy.scheduler.simulated import simulated_node, simulated_nodes

__all__ = ["WORKLOAD_CONTROLLERS", "assert_quiet", "create_namespace", "manager_settings", "mark_pod_ready", "register_simulated_nodes",
           "running_scheduler", "simulated_kubelet", "simulated_node", "simulated_nodes",
           "wait_for"]


# this suite's controllers; the cluster controllers need flags (CA files...) of their own
WORKLOAD_CONTROLLERS = ("deployment-controller,replicaset-controller,daemonset-controller,"
                        "statefulset-controller,job-controller,cronjob-controller,"
                        "garbage-collector-controller,namespace-controller")


def manager_settings(kubeconfig: Path | str,
                     controllers: str = WORKLOAD_CONTROLLERS) -> ManagerSettings:
    return ManagerSettings(
        str(kubeconfig), ComponentSettings("kube-controller-manager", "127.0.0.1", 0),
        tuple(select_controllers(controllers.split(","), CONTROLLERS)), qps=0, burst=1000)


async def create_namespace(client: Client, name: str) -> None:
    with contextlib.suppress(errors.AlreadyExists):
        await client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": name}})


async def mark_pod_ready(client: Client, namespace: str, name: str, node: str = "") -> None:
    """What a kubelet would report for a started pod: Running, containers ready, Ready=True."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"phase": "Running", "podIP": "10.244.0.10", "startTime": now, "conditions": [
        {"type": t, "status": "True", "lastTransitionTime": now}
        for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]}
    await client.patch("pods", name, {"status": status}, namespace, subresource="status")


@contextlib.asynccontextmanager
async def simulated_kubelet(client: Client, namespace: str,
                            ready: Callable[[dict[str, Any]], bool] = lambda _pod: True
                            ) -> AsyncIterator[None]:
    """Stands in for the kubelet (none exists yet): every pod that appears in `namespace` (and
    passes `ready`) is reported Running and Ready; a bound pod being deleted is confirmed
    stopped (deleted with grace 0), as a kubelet does."""
    async def loop() -> None:
        done: set[str] = set()
        while True:
            listed = await client.list("pods", namespace)
            for pod in listed.items:
                uid = pod["metadata"]["uid"]
                if pod["metadata"].get("deletionTimestamp"):
                    if pod["spec"].get("nodeName"):  # a kubelet confirms the pod stopped
                        with contextlib.suppress(errors.NotFound, errors.Conflict):
                            await client.delete("pods", pod["metadata"]["name"], namespace,
                                                grace_period_seconds=0)
                    continue
                if uid in done or not ready(pod):
                    continue
                with contextlib.suppress(errors.NotFound, errors.Conflict):
                    await mark_pod_ready(client, namespace, pod["metadata"]["name"])
                done.add(uid)
            await asyncio.sleep(0.2)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def register_simulated_nodes(client: Client, nodes: list[dict[str, Any]]) -> None:
    """Create Node objects as a kubelet would register them (status included)."""
    for node in nodes:
        with contextlib.suppress(errors.AlreadyExists):
            await client.create("nodes", node)
        await client.patch("nodes", node["metadata"]["name"], {"status": node["status"]},
                           subresource="status")


@contextlib.asynccontextmanager
async def running_scheduler(kubeconfig: Path | str) -> AsyncIterator[None]:
    """kubeadmpy-scheduler in this process, so pods get bound as in a real cluster."""
    settings = scheduler_main.parse_settings([
        f"--kubeconfig={kubeconfig}", "--secure-port=0", "--bind-address=127.0.0.1",
        "--leader-elect=false"])
    task = asyncio.create_task(scheduler_main.run(settings))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def assert_quiet(client: Client, namespace: str, refs: tuple[str, ...],
                       seconds: float = 1.5) -> None:
    """Nothing in `namespace` is rewritten for a while: a settled controller does not write
    (a write loop would show up as ever-changing resourceVersions)."""
    async def versions() -> dict[str, str]:
        found = {}
        for ref in refs:
            for item in (await client.list(ref, namespace)).items:
                found[f"{ref}/{item['metadata']['name']}"] = item["metadata"]["resourceVersion"]
        return found
    before = await versions()
    await asyncio.sleep(seconds)
    assert await versions() == before


async def wait_for(check: Callable[[], Awaitable[Any]], what: str,
                   seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
