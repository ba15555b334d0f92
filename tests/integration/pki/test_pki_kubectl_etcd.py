"""The generated kubeconfigs and certificates used by the real kubectl and the real etcd.

kubectl reads every kubeconfig (several client versions), and authenticates with admin.conf to
a TLS server presenting apiserver.crt that demands a client certificate from the cluster CA;
etcd serves with etcd/server.crt and etcdctl connects with apiserver-etcd-client.crt.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml

KUBECTL_VERSIONS = {
    "default": "/usr/bin/kubectl",
    "1.27": "/usr/lib/google-cloud-sdk/bin/kubectl.1.27",
    "1.33": "/usr/lib/google-cloud-sdk/bin/kubectl.1.33",
}
KUBECONFIGS = [
    "admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf",
]  # fmt: skip


def kubectl(binary: str, *args: str) -> str:
    if not Path(binary).exists():
        pytest.skip(f"{binary} is not installed")
    result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("version", list(KUBECTL_VERSIONS))
@pytest.mark.parametrize("file", KUBECONFIGS)
def test_kubectl_config_view_reads_the_kubeconfig(file: str, version: str, root_dir: Path) -> None:
    path = root_dir / "etc/kubernetes" / file
    ours = yaml.safe_load(path.read_text())
    raw = yaml.safe_load(kubectl(KUBECTL_VERSIONS[version], "config", "view", "--raw",
                                 "--kubeconfig", str(path)))  # fmt: skip
    assert raw == ours
    redacted = yaml.safe_load(
        kubectl(KUBECTL_VERSIONS[version], "config", "view", "--kubeconfig", str(path))
    )
    assert redacted["current-context"] == ours["current-context"]
    assert redacted["users"][0]["user"]["client-key-data"] in ("DATA+OMITTED", "REDACTED")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _WhoAmI(BaseHTTPRequestHandler):
    """Answers /version with the client certificate's subject, as the apiserver would see it."""

    def do_GET(self) -> None:
        assert isinstance(self.request, ssl.SSLSocket)
        peer = self.request.getpeercert() or {}
        subject = [value for rdn in peer.get("subject", ()) for value in rdn]
        body = json.dumps({"gitVersion": "v1.32.0", "subject": subject}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tls_apiserver(pki_dir: Path) -> Iterator[int]:
    """An HTTPS server on loopback with apiserver.crt, requiring client certs from ca.crt."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki_dir / "apiserver.crt", pki_dir / "apiserver.key")
    context.load_verify_locations(pki_dir / "ca.crt")
    context.verify_mode = ssl.CERT_REQUIRED
    port = _free_port()
    server = HTTPServer(("127.0.0.1", port), _WhoAmI)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize(
    ("file", "subject"),
    [
        ("admin.conf", [("organizationName", "kubeadm:cluster-admins"),
                        ("commonName", "kubernetes-admin")]),
        ("kubelet.conf", [("organizationName", "system:nodes"),
                          ("commonName", "system:node:node1")]),
        ("scheduler.conf", [("commonName", "system:kube-scheduler")]),
    ],
)  # fmt: skip
def test_kubectl_authenticates_over_tls_with_the_kubeconfig(
    file: str, subject: list[tuple[str, str]], root_dir: Path, tls_apiserver: int
) -> None:
    path = root_dir / "etc/kubernetes" / file
    config = yaml.safe_load(path.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{tls_apiserver}"
    moved = root_dir / f"{file}.port"
    moved.write_text(yaml.safe_dump(config))
    answer = json.loads(
        kubectl(KUBECTL_VERSIONS["default"], "--kubeconfig", str(moved), "get", "--raw", "/version")
    )
    assert [tuple(pair) for pair in answer["subject"]] == subject


@pytest.fixture
def tls_etcd(pki_dir: Path, tmp_path: Path) -> Iterator[str]:
    """A real etcd on loopback serving etcd/server.crt and requiring client certs (etcd-ca)."""
    if not shutil.which("etcd"):
        pytest.skip("etcd is not installed")
    client, peer = _free_port(), _free_port()
    etcd_dir = pki_dir / "etcd"
    process = subprocess.Popen(
        [
            "etcd", "--name", "node1", "--data-dir", str(tmp_path / "etcd-data"),
            "--listen-client-urls", f"https://127.0.0.1:{client}",
            "--advertise-client-urls", f"https://127.0.0.1:{client}",
            "--listen-peer-urls", f"https://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"https://127.0.0.1:{peer}",
            "--initial-cluster", f"node1=https://127.0.0.1:{peer}",
            "--cert-file", str(etcd_dir / "server.crt"), "--key-file", str(etcd_dir / "server.key"),
            "--trusted-ca-file", str(etcd_dir / "ca.crt"), "--client-cert-auth",
            "--peer-cert-file", str(etcd_dir / "peer.crt"),
            "--peer-key-file", str(etcd_dir / "peer.key"),
            "--peer-trusted-ca-file", str(etcd_dir / "ca.crt"), "--peer-client-cert-auth",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "etcd.log").open("wb"),
    )  # fmt: skip
    try:
        endpoint = f"https://127.0.0.1:{client}"
        for _ in range(50):  # until etcd has elected itself; etcdctl's dial timeout paces this
            if (
                _etcdctl(
                    endpoint, pki_dir, "apiserver-etcd-client", "endpoint", "health"
                ).returncode
                == 0
            ):
                break
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _etcdctl(
    endpoint: str, pki_dir: Path, cert: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "etcdctl", "--endpoints", endpoint, "--cacert", str(pki_dir / "etcd/ca.crt"),
            "--cert", str(pki_dir / f"{cert}.crt"), "--key", str(pki_dir / f"{cert}.key"),
            "--dial-timeout", "3s", "--command-timeout", "5s", *args,
        ],
        capture_output=True, text=True, timeout=60, env={"ETCDCTL_API": "3"},
    )  # fmt: skip


def test_etcd_serves_with_the_etcd_certificates_and_accepts_the_apiserver_client(
    tls_etcd: str, pki_dir: Path
) -> None:
    health = _etcdctl(tls_etcd, pki_dir, "apiserver-etcd-client", "endpoint", "health")
    assert health.returncode == 0, health.stderr
    put = _etcdctl(tls_etcd, pki_dir, "etcd/healthcheck-client", "put", "/pki-test", "ok")
    assert put.returncode == 0, put.stderr


def test_etcd_refuses_a_client_certificate_from_another_ca(
    tls_etcd: str, pki_dir: Path, tmp_path: Path
) -> None:
    accepted = _etcdctl(tls_etcd, pki_dir, "etcd/healthcheck-client", "endpoint", "health")
    assert accepted.returncode == 0, accepted.stderr
    refused = _etcdctl(tls_etcd, pki_dir, "apiserver-kubelet-client", "endpoint", "health",
                       "--command-timeout", "1s")  # fmt: skip
    assert refused.returncode != 0
    assert "certificate signed by unknown authority" in (tmp_path / "etcd.log").read_text()
