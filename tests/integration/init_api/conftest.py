"""A real etcd + kubeadmpy-apiserver running on the PKI that `kubeadmpy init` phases wrote."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from apiserver_harness import KUBECTL_VERSIONS, APIServerProcess, Certs, Etcd, free_port

from kubeadmpy import pki

NODE = "node1"


@dataclass
class InitNode:
    """A scratch root with init's files, and the control plane serving from them."""

    root: Path
    port: int

    def flags(self) -> list[str]:
        return [
            "--root-dir",
            str(self.root),
            "--apiserver-advertise-address",
            "127.0.0.1",
            "--apiserver-bind-port",
            str(self.port),
            "--node-name",
            NODE,
        ]

    def kubeadmpy(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["kubeadmpy", *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=180,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubeadmpy {' '.join(args)}:\n{result.stdout}\n{result.stderr}")
        return result

    @property
    def admin_conf(self) -> Path:
        return self.root / "etc/kubernetes/admin.conf"

    @property
    def pki(self) -> Path:
        return self.root / "etc/kubernetes/pki"

    def token_kubeconfig(self, token: str) -> Path:
        """A kubeconfig that authenticates with `token` only (no client certificate)."""
        path = self.root / "token.conf"
        ca = base64.b64encode((self.pki / "ca.crt").read_bytes()).decode()
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "token",
                    "clusters": [
                        {
                            "name": "c",
                            "cluster": {
                                "server": f"https://127.0.0.1:{self.port}",
                                "certificate-authority-data": ca,
                            },
                        }
                    ],
                    "users": [{"name": "t", "user": {"token": token}}],
                    "contexts": [{"name": "token", "context": {"cluster": "c", "user": "t"}}],
                }
            )
        )
        return path

    def kubectl(
        self, *args: str, check: bool = True, kubeconfig: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [
                KUBECTL_VERSIONS["1.33"],
                f"--kubeconfig={kubeconfig or self.admin_conf}",
                f"--cache-dir={self.root / 'kube-cache'}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}:\n{result.stdout}\n{result.stderr}")
        return result


@pytest.fixture
def init_node(tmp_path: Path) -> Iterator[InitNode]:
    node = InitNode(tmp_path / "root", free_port())
    node.kubeadmpy("init", "phase", "certs", "all", *node.flags())
    node.kubeadmpy("init", "phase", "kubeconfig", "all", *node.flags())
    settings = pki.PKISettings(node_name=NODE, advertise_address="127.0.0.1", bind_port=node.port)
    certs = Certs(node.pki, settings)
    etcd = Etcd(certs, tmp_path / "etcd-data")
    apiserver = APIServerProcess(certs, etcd, tmp_path, port=node.port)
    try:
        etcd.start()
        apiserver.start()
        yield node
    finally:
        apiserver.stop()
        etcd.stop()
