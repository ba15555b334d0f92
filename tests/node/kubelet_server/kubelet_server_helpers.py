"""Pods labelled as the kubelet labels them, a KubeletServer around them, and HTTPS clients
holding certificates of the cluster CA."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from apiserver_harness import Certs, Cluster

from kubeadmpy.client import Client, load_kubeconfig
from kubeadmpy.cri import CRIClient, CRIError, api
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.images import busybox_reference
from kubeadmpy.kubelet.server import AuthSettings, CRIPodLookup, KubeletServer, ServerSettings

NODE = "node1"


@dataclass
class LabelledPod:
    namespace: str
    name: str
    uid: str
    sandbox_id: str
    container_id: str
    config: api.PodSandboxConfig | None = None
    previous_ids: tuple[str, ...] = ()


async def start_labelled_pod(cri: CRIClient, runtime: ScratchContainerd, name: str,
                             command: list[str], container: str = "main") -> LabelledPod:
    uid = str(uuid.uuid4())
    labels = {"io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.name": name,
              "io.kubernetes.pod.uid": uid}
    config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=name, uid=uid, namespace="default"),
        hostname=name, labels=labels,
        log_directory=str(runtime.pod_log_dir / f"default_{name}_{uid}"),
        linux=api.LinuxPodSandboxConfig())
    sandbox = await cri.run_pod_sandbox(config)
    await runtime.remember_netns(cri, sandbox)
    pod = LabelledPod("default", name, uid, sandbox, "", config)
    try:
        pod.container_id = await cri.create_container(sandbox, api.ContainerConfig(
            metadata=api.ContainerMetadata(name=container),
            image=api.ImageSpec(image=busybox_reference()), command=command,
            labels={**labels, "io.kubernetes.container.name": container},
            log_path=f"{container}/0.log", stdin=True), config)
        await cri.start_container(pod.container_id)
    except BaseException:
        await remove_labelled_pod(cri, pod)
        raise
    return pod


async def restart_container(cri: CRIClient, pod: LabelledPod, command: list[str],
                            container: str = "main") -> None:
    """A new instance (next attempt) of the pod's container, as the kubelet makes on restart."""
    assert pod.config is not None
    attempt = len(pod.previous_ids) + 1
    labels = {**pod.config.labels, "io.kubernetes.container.name": container}
    new_id = await cri.create_container(pod.sandbox_id, api.ContainerConfig(
        metadata=api.ContainerMetadata(name=container, attempt=attempt),
        image=api.ImageSpec(image=busybox_reference()), command=command, labels=labels,
        log_path=f"{container}/{attempt}.log"), pod.config)
    pod.previous_ids = (*pod.previous_ids, pod.container_id)
    pod.container_id = new_id
    await cri.start_container(new_id)


async def remove_labelled_pod(cri: CRIClient, pod: LabelledPod) -> None:
    for previous in pod.previous_ids:
        with contextlib.suppress(CRIError):
            await cri.remove_container(previous)
    if pod.container_id:
        with contextlib.suppress(CRIError):
            await cri.stop_container(pod.container_id, 0)
        with contextlib.suppress(CRIError):
            await cri.remove_container(pod.container_id)
    with contextlib.suppress(CRIError):
        await cri.stop_pod_sandbox(pod.sandbox_id)
    with contextlib.suppress(CRIError):
        await cri.remove_pod_sandbox(pod.sandbox_id)


async def wait_exited(cri: CRIClient, container_id: str) -> None:
    for _ in range(400):
        if (await cri.container_status(container_id)).status.state == api.CONTAINER_EXITED:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("container did not exit")


@contextlib.asynccontextmanager
async def kubelet_server(cri: CRIClient, certs: Certs, cert_dir: Path,
                         cluster: Cluster | None = None,
                         anonymous: bool = False) -> AsyncIterator[KubeletServer]:
    """A KubeletServer on free ports. With a cluster: authorization by SubjectAccessReview
    (the kubelet's API identity is an admin here: the test harness's apiserver runs without
    the bootstrap RBAC policy that lets system:nodes create reviews); without: AlwaysAllow
    (authentication stays on)."""
    settings = ServerSettings(
        node_name=NODE, address="127.0.0.1", port=0, healthz_port=0, cert_dir=str(cert_dir),
        auth=AuthSettings(client_ca_file=certs.path("ca.crt"), anonymous=anonymous,
                          mode="Webhook" if cluster is not None else "AlwaysAllow"))
    if cluster is None:
        server = KubeletServer(settings, CRIPodLookup(cri), cri)
        await server.start()
        try:
            yield server
        finally:
            await server.close()
        return
    kubeconfig = cert_dir / "kubelet.conf"
    kubeconfig.write_text(certs.kubeconfig(cluster.apiserver.url))
    async with Client(load_kubeconfig(kubeconfig)) as api_client:
        server = KubeletServer(settings, CRIPodLookup(cri), cri, api=api_client)
        await server.start()
        try:
            yield server
        finally:
            await server.close()


def client_files(certs: Certs, user: str, groups: tuple[str, ...]) -> tuple[str, str]:
    """(cert, key) of a client certificate for `user` in `groups`, signed by the cluster CA."""
    stem = certs.dir / f"client-{user.replace(':', '_')}"
    cert, key = Path(f"{stem}.crt"), Path(f"{stem}.key")
    if not cert.exists():
        kubeconfig = yaml.safe_load(certs.kubeconfig("https://127.0.0.1:1", user, groups))
        entry = kubeconfig["users"][0]["user"]
        cert.write_bytes(base64.b64decode(entry["client-certificate-data"]))
        key.write_bytes(base64.b64decode(entry["client-key-data"]))
    return str(cert), str(key)


def client_context(certs: Certs, user: str | None,
                   groups: tuple[str, ...] = ()) -> ssl.SSLContext:
    """TLS as the apiserver's kubelet client has it. The kubelet's serving certificate is
    self-signed, so it is not verified (upstream's apiserver does the same by default)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if user is not None:
        context.load_cert_chain(*client_files(certs, user, groups))
    return context
