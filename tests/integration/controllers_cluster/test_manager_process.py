"""The cluster controllers inside the real `kubeadmpy-controller-manager` process, started
with kubeadm's flags (--controllers=*,bootstrapsigner,tokencleaner, per-controller service
accounts, node CIDRs, the cluster CA for signing and as root CA) against the real API server."""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_controllers_harness import (
    SimulatedNodes,
    csr_object,
    eventually,
    openssl_csr,
    openssl_verify,
)

from apiserver_harness import Cluster, Process, free_port  # isort: skip
from kubeadmpy.client import Client


@pytest.fixture
def controller_manager(cluster: Cluster, tmp_path: Path) -> Iterator[Process]:
    certs = cluster.certs
    process = Process([
        sys.executable, "-m", "kubeadmpy.controllers.main", f"--kubeconfig={cluster.kubeconfig}",
        "--controllers=*,bootstrapsigner,tokencleaner", "--use-service-account-credentials=true",
        "--allocate-node-cidrs=true", "--cluster-cidr=10.244.0.0/16",
        f"--cluster-signing-cert-file={certs.path('ca.crt')}",
        f"--cluster-signing-key-file={certs.path('ca.key')}",
        f"--root-ca-file={certs.path('ca.crt')}", "--leader-elect=false",
        "--bind-address=127.0.0.1", f"--secure-port={free_port()}",
        "--node-monitor-grace-period=3s", "--node-monitor-period=1s",
        "--node-startup-grace-period=3s"], tmp_path / "controller-manager.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def test_the_controller_manager_runs_the_cluster_controllers_with_kubeadms_flags(
        admin: Client, nodes: SimulatedNodes, cluster: Cluster, controller_manager: Process,
        tmp_path: Path) -> None:
    await nodes.add("worker-1")
    await nodes.add("worker-2")
    await admin.create("namespaces", {"metadata": {"name": "apps"}})
    await admin.create("configmaps", {"metadata": {"name": "cluster-info"},
                                      "data": {"kubeconfig": "apiVersion: v1\nkind: Config\n"}},
                       "kube-public")
    await admin.create("secrets", {
        "metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "stringData": {"token-id": "abcdef", "token-secret": "0123456789abcdef",
                       "usage-bootstrap-signing": "true"}}, "kube-system")
    _, pem = openssl_csr(tmp_path, "jane", "/O=devs/CN=jane")
    await admin.create("certificatesigningrequests", csr_object(
        "jane", pem, "kubernetes.io/kube-apiserver-client", ["client auth"]))
    cluster.kubectl("1.33", "certificate", "approve", "jane")

    def log() -> str:
        return controller_manager.log.read_text()[-3000:]

    async def cidrs() -> set[str] | None:
        listed = (await admin.list("nodes")).items
        found = {(n.get("spec") or {}).get("podCIDR") for n in listed}
        return found if None not in found and len(found) == 2 else None
    assert await eventually(cidrs, f"both nodes get podCIDRs; log:\n{log()}", 60)
    await eventually(lambda: admin.get("serviceaccounts", "default", "apps"),
                     "apps gets its default ServiceAccount")
    await eventually(lambda: admin.get("configmaps", "kube-root-ca.crt", "apps"),
                     "apps gets kube-root-ca.crt")

    async def certificate() -> str | None:
        csr = await admin.get("certificatesigningrequests", "jane")
        return (csr.get("status") or {}).get("certificate")
    cert = tmp_path / "jane.crt"
    cert.write_bytes(base64.b64decode(await eventually(certificate, "jane's CSR is signed")))
    openssl_verify(cluster.certs.path("ca.crt"), cert)

    async def signed() -> bool:
        data = (await admin.get("configmaps", "cluster-info", "kube-public"))["data"]
        return "jws-kubeconfig-abcdef" in data
    await eventually(signed, "cluster-info is signed for the token (bootstrapsigner is on)")

    nodes.stop_renewing("worker-2")

    async def unreachable() -> bool:
        node = await admin.get("nodes", "worker-2")
        return any(t["key"] == "node.kubernetes.io/unreachable"
                   for t in (node.get("spec") or {}).get("taints") or [])
    await eventually(unreachable, "the silent node is tainted unreachable", 30)
    accounts = {sa["metadata"]["name"]
                for sa in (await admin.list("serviceaccounts", "kube-system")).items}
    assert {"node-controller", "certificate-controller", "root-ca-cert-publisher",
            "service-account-controller", "bootstrap-signer"} <= accounts
