"""Building blocks for the kubelet node tests: a private containerd (ScratchContainerd), a real
etcd + kubeadmpy-apiserver (the apiserver suite's harness), and the kubelet run in-process.

Everything is torn down in finally blocks: the kubelet task is cancelled, the runtime removes
every sandbox and container it holds, and etcd + apiserver are stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration" / "apiserver"))

from apiserver_harness import Cluster

from kubeadmpy.client import Client, load_kubeconfig
from kubeadmpy.cri import CRIClient, api
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.images import busybox_reference
from kubeadmpy.kubelet import Kubelet, KubeletSettings, run
from kubeadmpy.kubelet.settings import BackoffSettings

JSONObject = dict[str, Any]
# Short back-off so a crash loop shows several restarts within a test; the doubling and the
# cap are what is asserted, not durations.
TEST_BACKOFF = BackoffSettings(initial_seconds=1.0, max_seconds=8.0)


@dataclass
class Node:
    """One kubelet's world: its runtime, its cluster, its settings."""

    runtime: ScratchContainerd
    cluster: Cluster
    workdir: Path
    name: str

    def settings(self, **changes: Any) -> KubeletSettings:
        base = KubeletSettings(
            kubeconfig=str(self.cluster.kubeconfig),
            container_runtime_endpoint=self.runtime.endpoint,
            hostname_override=self.name, node_ip="127.0.0.1",
            root_dir=str(self.workdir / "kubelet"), pod_logs_dir=str(self.runtime.pod_log_dir),
            static_pod_path=str(self.workdir / "manifests"), cgroup_driver="cgroupfs",
            cluster_dns=("10.96.0.10",), cluster_domain="cluster.local",
            resolv_conf=str(self.workdir / "resolv.conf"), port=0, healthz_port=0,
            address="127.0.0.1", node_status_update_frequency_seconds=2.0,
            node_lease_duration_seconds=8, backoff=TEST_BACKOFF,
            sync_frequency_seconds=10.0)
        return replace(base, **changes)


@contextlib.asynccontextmanager
async def running_kubelet(node: Node, **changes: Any) -> AsyncIterator[Kubelet]:
    """The kubelet as a task of this test's loop; cancelled (pods keep running) on exit."""
    (node.workdir / "manifests").mkdir(parents=True, exist_ok=True)
    (node.workdir / "resolv.conf").write_text("nameserver 127.0.0.53\nsearch example\n")
    holder: list[Kubelet] = []
    started = asyncio.Event()
    task = asyncio.create_task(run(node.settings(**changes), started=started, holder=holder))
    try:
        waiter = asyncio.create_task(started.wait())
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            waiter.cancel()
            task.result()
        yield holder[0]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def client_for(cluster: Cluster) -> Client:
    return Client(load_kubeconfig(cluster.kubeconfig).with_overrides(qps=0))


async def eventually(check: Callable[[], Awaitable[Any]], what: str,
                     seconds: float = 60.0) -> Any:
    """Poll `check()` until it returns something truthy (the limit only stops a hung test)."""
    last: Any = None
    for _ in range(int(seconds / 0.1)):
        with contextlib.suppress(AssertionError, KeyError, IndexError, TypeError):
            last = await check()
            if last:
                return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not reached within {seconds}s (last: {last!r})")


def pod_manifest(name: str, containers: list[JSONObject], **spec: Any) -> JSONObject:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": containers, "terminationGracePeriodSeconds": 2, **spec}}


def busybox(name: str, command: str, **fields: Any) -> JSONObject:
    return {"name": name, "image": busybox_reference(), "command": ["sh", "-c", command],
            **fields}


async def create_bound_pod(client: Client, namespace: str, pod: JSONObject,
                           node: str) -> JSONObject:
    """Create the pod and bind it to `node`, as the scheduler would."""
    created = await client.create("pods", pod, namespace)
    await client.bind(namespace, pod["metadata"]["name"], node)
    return created


async def containers_of(runtime: ScratchContainerd, uid: str) -> list[api.Container]:
    async with CRIClient(runtime.endpoint) as cri:
        return await cri.list_containers(api.ContainerFilter(
            label_selector={"io.kubernetes.pod.uid": uid}))


async def sandboxes_of(runtime: ScratchContainerd, uid: str) -> list[api.PodSandbox]:
    async with CRIClient(runtime.endpoint) as cri:
        return await cri.list_pod_sandbox(api.PodSandboxFilter(
            label_selector={"io.kubernetes.pod.uid": uid}))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
