"""The client reads the kubeconfig files kubeadmpy itself writes (`init phase kubeconfig`,
`kubeadmpy kubeconfig user`) and authenticates with them against the real apiserver."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from apiserver_harness import Cluster, make_certs, start_cluster, stop_cluster

from kubeadmpy.client import Client, load_kubeconfig

KUBEADMPY = [sys.executable, "-c", "import sys; from kubeadmpy.cli.main import main; "
             "sys.exit(main())"]


def kubeadmpy(*args: str) -> str:
    result = subprocess.run([*KUBEADMPY, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def node_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Cluster]]:
    """A node root (--root-dir) whose PKI serves a running etcd + apiserver, and the
    kubeconfig files `init phase kubeconfig all` wrote for that apiserver."""
    root = tmp_path_factory.mktemp("node-root")
    certs = make_certs(root / "etc/kubernetes/pki")
    cluster = start_cluster(tmp_path_factory.mktemp("kubeconfig-cluster"), certs)
    try:
        kubeadmpy("init", "phase", "kubeconfig", "all", "--root-dir", str(root),
                  "--apiserver-advertise-address", "127.0.0.1",
                  "--apiserver-bind-port", str(cluster.apiserver.port), "--node-name", "node1")
        yield root, cluster
    finally:
        stop_cluster(cluster)


async def whoami(client: Client) -> str:
    review = await client.create("selfsubjectreviews.authentication.k8s.io", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    return str(review["status"]["userInfo"]["username"])


@pytest.mark.parametrize(("file_name", "user"), [
    ("admin.conf", "kubernetes-admin"), ("super-admin.conf", "kubernetes-super-admin"),
    ("kubelet.conf", "system:node:node1"),
    ("controller-manager.conf", "system:kube-controller-manager"),
    ("scheduler.conf", "system:kube-scheduler")])
async def test_init_phase_kubeconfig_files_authenticate(node_root: tuple[Path, Cluster],
                                                        file_name: str, user: str) -> None:
    root, _ = node_root
    config = load_kubeconfig(root / "etc/kubernetes" / file_name)
    assert config.client_cert_pem and config.ca_pem
    async with Client(config) as client:
        assert await whoami(client) == user


async def test_kubeconfig_user_output_authenticates(node_root: tuple[Path, Cluster],
                                                    tmp_path: Path) -> None:
    root, _ = node_root
    text = kubeadmpy("kubeconfig", "user", "--client-name", "alice", "--org", "devs",
                     "--root-dir", str(root))
    path = tmp_path / "alice.conf"
    path.write_text(text)
    async with Client(load_kubeconfig(path)) as client:
        assert await whoami(client) == "alice"
