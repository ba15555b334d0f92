"""kubeadmpy-kubelet as a process, the way init's supervisor runs it (config file plus the
flags of kubeadm-flags.env): SIGKILL and a new start leave the running pod untouched, and
SIGTERM ends it cleanly with exit code 0 while pods keep running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubelet_harness import (
    Node,
    busybox,
    containers_of,
    create_bound_pod,
    eventually,
    pod_manifest,
)

from kubeadmpy.client import Client, PatchType
from kubeadmpy.cri import api

JSONObject = dict[str, Any]


def write_node_files(node: Node) -> list[str]:
    """config.yaml and kubeadm-flags.env as init writes them; the command line to run."""
    config = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
              "staticPodPath": str(node.workdir / "manifests"), "cgroupDriver": "cgroupfs",
              "clusterDNS": ["10.96.0.10"], "clusterDomain": "cluster.local",
              "podLogsDir": str(node.runtime.pod_log_dir), "port": 0, "healthzPort": 0,
              "address": "127.0.0.1", "resolvConf": str(node.workdir / "resolv.conf")}
    (node.workdir / "manifests").mkdir(exist_ok=True)
    (node.workdir / "resolv.conf").write_text("nameserver 127.0.0.53\n")
    (node.workdir / "config.yaml").write_text(yaml.safe_dump(config))
    (node.workdir / "kubeadm-flags.env").write_text(
        f'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint={node.runtime.endpoint} '
        f'--hostname-override={node.name}"\n')
    return [sys.executable, "-m", "kubeadmpy.kubelet.main",
            f"--config={node.workdir / 'config.yaml'}",
            f"--kubeconfig={node.cluster.kubeconfig}",
            f"--flags-env-file={node.workdir / 'kubeadm-flags.env'}",
            f"--root-dir={node.workdir / 'kubelet'}", "--node-ip=127.0.0.1"]


class KubeletProcess:
    def __init__(self, command: list[str], log: Path) -> None:
        self.command = command
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(self.command, stdout=handle,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def signal(self, signum: int) -> int:
        assert self.process is not None
        os.killpg(self.process.pid, signum)
        code = self.process.wait(30)
        self.process = None
        return code

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.signal(signal.SIGKILL)


@pytest.fixture
def kubelet_process(node: Node) -> Iterator[KubeletProcess]:
    process = KubeletProcess(write_node_files(node), node.workdir / "kubelet.log")
    try:
        yield process
    finally:
        process.stop()


async def running_container(client: Client, namespace: str, name: str) -> str:
    pod = await client.get("pods", name, namespace)
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    if pod.get("status", {}).get("phase") == "Running" and statuses and \
            "running" in statuses[0]["state"]:
        return str(statuses[0]["containerID"])
    return ""


async def test_sigkill_and_a_new_start_keep_the_pod_and_sigterm_exits_cleanly(
        node: Node, client: Client, namespace: str, kubelet_process: KubeletProcess) -> None:
    kubelet_process.start()
    pod = pod_manifest("steady", [busybox("main", "sleep 3600")])
    await create_bound_pod(client, namespace, pod, node.name)
    first = await eventually(lambda: running_container(client, namespace, "steady"),
                             "Running under the first kubelet")
    assert kubelet_process.signal(signal.SIGKILL) == -signal.SIGKILL
    # Something changes while no kubelet runs: the status must catch up after the restart.
    await client.patch("pods", "steady", {"status": {"conditions": []}}, namespace,
                       subresource="status", patch_type=PatchType.MERGE)
    kubelet_process.start()

    async def converged() -> str:
        pod = await client.get("pods", "steady", namespace)
        conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions") or []}
        return await running_container(client, namespace, "steady") \
            if conditions.get("Ready") == "True" else ""
    second = await eventually(converged, "status converged under the second kubelet")
    assert second == first
    assert kubelet_process.signal(signal.SIGTERM) == 0
    found = await client.get("pods", "steady", namespace)
    running = [c for c in await containers_of(node.runtime, found["metadata"]["uid"])
               if c.state == api.CONTAINER_RUNNING]
    assert [f"containerd://{c.id}" for c in running] == [first]

