"""The proof of `secretsEncryption`: the EncryptionConfiguration `kubeadmpy init` writes makes
the real API server seal Secrets, as read back from etcd by the real `etcdctl`.

The file comes from init's own phase (control-plane/apiserver under a root directory), the
server gets it with --encryption-provider-config as the rendered manifest passes it, kubectl
creates the Secret, and etcdctl — knowing nothing of kubeadmpy — shows the stored bytes.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from apiserver_harness import APIServerProcess, Certs, Cluster, Etcd

from kubeadmpy.config import NodeFacts, load_init_config
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.init import InitContext, init_workflow
from kubeadmpy.render import ENCRYPTION_CONFIG

ETCDCTL = "/usr/bin/etcdctl"
KUBECTL = "1.33"
PLAINTEXT = "correct-horse-battery-staple"
INIT_CONFIG = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint: {{advertiseAddress: 127.0.0.1}}
nodeRegistration: {{name: node1}}
---
apiVersion: kubeadmpy.io/v1alpha1
kind: KubeadmpyConfiguration
secretsEncryption: {{enabled: true, provider: {provider}}}
"""


def write_encryption_config(root: Path, provider: str) -> Path:
    """Run init's control-plane/apiserver phase under `root`; the EncryptionConfiguration's path."""
    bundle = load_init_config(None, text=INIT_CONFIG.format(provider=provider),
                              facts=NodeFacts(hostname="node1", advertise_address="127.0.0.1"))
    ctx = InitContext(bundle=bundle, paths=HostPaths(root), out=lambda _: None)
    init_workflow().run(ctx, only="control-plane/apiserver")
    manifest = (root / "etc/kubernetes/manifests/kube-apiserver.yaml").read_text()
    assert f"--encryption-provider-config={ENCRYPTION_CONFIG}" in manifest
    return HostPaths(root).host(ENCRYPTION_CONFIG)


def etcdctl_get(certs: Certs, etcd: Etcd, key: str) -> bytes:
    """The value stored under `key`, as the real etcdctl reads it."""
    result = subprocess.run(
        [ETCDCTL, f"--endpoints={etcd.url}", f"--cacert={certs.path('etcd/ca.crt')}",
         f"--cert={certs.path('apiserver-etcd-client.crt')}",
         f"--key={certs.path('apiserver-etcd-client.key')}", "get", key, "-w", "json"],
        capture_output=True, text=True, timeout=30, check=False,
        env={**os.environ, "ETCDCTL_API": "3"})
    assert result.returncode == 0, result.stderr
    kvs = json.loads(result.stdout).get("kvs", [])
    assert len(kvs) == 1, f"etcdctl found {len(kvs)} values under {key}"
    return base64.b64decode(kvs[0]["value"])


@dataclass
class Running:
    etcd: Etcd
    server: APIServerProcess | None = None

    def start_server(self, certs: Certs, workdir: Path, config: Path | None) -> Cluster:
        if self.server is not None:
            self.server.stop()
        extra = [f"--encryption-provider-config={config}"] if config else []
        self.server = APIServerProcess(certs, self.etcd, workdir, extra_args=extra)
        self.server.start()
        kubeconfig = workdir / "admin.conf"
        kubeconfig.write_text(certs.kubeconfig(self.server.url))
        return Cluster(certs, self.etcd, self.server, kubeconfig, workdir)


@pytest.fixture
def running(certs: Certs, tmp_path: Path) -> Iterator[Running]:
    """A private etcd; the test starts (and restarts) the API server on it."""
    state = Running(Etcd(certs, tmp_path / "etcd-data"))
    try:
        state.etcd.start()
        yield state
    finally:
        if state.server is not None:
            state.server.stop()
        state.etcd.stop()


def create_secret(cluster: Cluster, name: str) -> None:
    cluster.kubectl(KUBECTL, "create", "secret", "generic", name,
                    f"--from-literal=password={PLAINTEXT}")


def read_password(cluster: Cluster, name: str) -> str:
    shown = cluster.kubectl(KUBECTL, "get", "secret", name, "-o", "jsonpath={.data.password}")
    return base64.b64decode(shown.stdout).decode()


def shows_plaintext(stored: bytes) -> bool:
    """Whether the password is readable in the stored bytes, raw or base64 (JSON's form)."""
    return any(form in stored for form in (PLAINTEXT.encode(),
                                           base64.b64encode(PLAINTEXT.encode())))


def assert_sealed(stored: bytes, provider: str) -> None:
    assert stored.startswith(f"k8s:enc:{provider}:v1:key1:".encode()), stored[:40]
    assert not shows_plaintext(stored)


@pytest.mark.parametrize("provider", ["secretbox", "aesgcm", "aescbc"])
def test_a_secret_created_with_kubectl_is_sealed_in_etcd(
        provider: str, running: Running, certs: Certs, tmp_path: Path) -> None:
    config = write_encryption_config(tmp_path / "root", provider)
    cluster = running.start_server(certs, tmp_path, config)
    create_secret(cluster, "db")
    assert read_password(cluster, "db") == PLAINTEXT
    assert_sealed(etcdctl_get(certs, running.etcd, "/registry/secrets/default/db"), provider)


def test_secrets_stored_before_encryption_still_read_and_are_sealed_when_rewritten(
        running: Running, certs: Certs, tmp_path: Path) -> None:
    cluster = running.start_server(certs, tmp_path, None)
    create_secret(cluster, "old")
    key = "/registry/secrets/default/old"
    assert shows_plaintext(etcdctl_get(certs, running.etcd, key))

    cluster = running.start_server(certs, tmp_path, write_encryption_config(tmp_path / "root",
                                                                            "secretbox"))
    assert read_password(cluster, "old") == PLAINTEXT  # identity: {} reads the plaintext
    cluster.kubectl(KUBECTL, "annotate", "secret", "old", "rewritten=yes")
    assert_sealed(etcdctl_get(certs, running.etcd, key), "secretbox")
    assert read_password(cluster, "old") == PLAINTEXT


pytestmark = pytest.mark.timeout(180)
