"""Real busybox pods in a scratch containerd, described as the pod dicts the kubelet holds."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

from kubeadmpy.cri import CRIClient, CRIError, api
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.images import busybox_reference


@dataclass
class RunningPod:
    name: str
    uid: str
    sandbox_id: str
    container_id: str
    pod_ip: str
    log_directory: str

    def pod(self, **container_fields: Any) -> dict[str, Any]:
        """The API object of this pod with one container `main` carrying `container_fields`."""
        container = {"name": "main", "image": busybox_reference(),
                     "ports": [{"name": "http", "containerPort": 8080}], **container_fields}
        return {"metadata": {"name": self.name, "namespace": "default", "uid": self.uid},
                "spec": {"containers": [container]}}

    async def wait_for_port(self, port: int) -> None:
        for _ in range(200):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection(self.pod_ip, port)
                writer.close()
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.pod_ip}:{port} never opened")


async def start_pod(cri: CRIClient, runtime: ScratchContainerd, name: str,
                    command: list[str]) -> RunningPod:
    uid = str(uuid.uuid4())
    log_directory = str(runtime.pod_log_dir / f"default_{name}_{uid}")
    config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=name, uid=uid, namespace="default"),
        hostname=name, log_directory=log_directory, linux=api.LinuxPodSandboxConfig())
    sandbox = await cri.run_pod_sandbox(config)
    await runtime.remember_netns(cri, sandbox)
    pod = RunningPod(name, uid, sandbox, "", "", log_directory)
    try:
        pod.container_id = await cri.create_container(sandbox, api.ContainerConfig(
            metadata=api.ContainerMetadata(name="main"),
            image=api.ImageSpec(image=busybox_reference()), command=command,
            log_path="main/0.log"), config)
        await cri.start_container(pod.container_id)
        pod.pod_ip = (await cri.pod_sandbox_status(sandbox)).status.network.ip
    except BaseException:
        await stop_pod(cri, pod)
        raise
    return pod


async def stop_pod(cri: CRIClient, pod: RunningPod) -> None:
    if pod.container_id:
        with contextlib.suppress(CRIError):
            await cri.stop_container(pod.container_id, 0)
        with contextlib.suppress(CRIError):
            await cri.remove_container(pod.container_id)
    with contextlib.suppress(CRIError):
        await cri.stop_pod_sandbox(pod.sandbox_id)
    with contextlib.suppress(CRIError):
        await cri.remove_pod_sandbox(pod.sandbox_id)
