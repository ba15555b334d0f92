"""The generated PKI judged by the real `openssl` CLI: chains, purposes, subjects, SANs, usages."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kubeadmpy.pki import ENCRYPTION_ALGORITHMS, PKISettings, ca_cert_hash, ensure_certs

CHAINS = {
    "ca.crt": ["apiserver.crt", "apiserver-kubelet-client.crt"],
    "front-proxy-ca.crt": ["front-proxy-client.crt"],
    "etcd/ca.crt": [
        "etcd/server.crt", "etcd/peer.crt", "etcd/healthcheck-client.crt",
        "apiserver-etcd-client.crt",
    ],
}  # fmt: skip
SERVER_CERTS = ["apiserver.crt", "etcd/server.crt", "etcd/peer.crt"]
CLIENT_CERTS = [
    "apiserver-kubelet-client.crt", "front-proxy-client.crt", "etcd/healthcheck-client.crt",
    "apiserver-etcd-client.crt", "etcd/server.crt", "etcd/peer.crt",
]  # fmt: skip


def openssl(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=check, timeout=60
    )


def x509_text(path: Path) -> str:
    return openssl("x509", "-in", str(path), "-noout", "-text", cwd=path.parent).stdout


@pytest.mark.parametrize("algorithm", ENCRYPTION_ALGORITHMS)
def test_openssl_verifies_every_chain(algorithm: str, tmp_path: Path) -> None:
    settings = PKISettings("node1", "192.168.1.10", encryption_algorithm=algorithm)
    ensure_certs(settings, tmp_path)
    for ca, leaves in CHAINS.items():
        result = openssl("verify", "-CAfile", ca, *leaves, cwd=tmp_path)
        assert result.stdout.splitlines() == [f"{leaf}: OK" for leaf in leaves]
    for key in [p for p in tmp_path.rglob("*.key")]:
        cert = key.with_suffix(".crt")
        if cert.exists():  # the key is the certificate's key
            key_pub = openssl("pkey", "-in", str(key), "-pubout", cwd=tmp_path).stdout
            cert_pub = openssl("x509", "-in", str(cert), "-noout", "-pubkey", cwd=tmp_path).stdout
            assert key_pub == cert_pub, key


def test_openssl_rejects_a_leaf_against_the_wrong_ca(pki_dir: Path) -> None:
    result = openssl("verify", "-CAfile", "etcd/ca.crt", "apiserver.crt", cwd=pki_dir, check=False)
    assert result.returncode != 0
    assert "unable to get local issuer certificate" in result.stdout + result.stderr


@pytest.mark.parametrize("cert", SERVER_CERTS)
def test_serving_certificates_pass_the_tls_server_purpose(cert: str, pki_dir: Path) -> None:
    ca = "etcd/ca.crt" if cert.startswith("etcd/") else "ca.crt"
    openssl("verify", "-purpose", "sslserver", "-CAfile", ca, cert, cwd=pki_dir)


@pytest.mark.parametrize("cert", CLIENT_CERTS)
def test_client_certificates_pass_the_tls_client_purpose(cert: str, pki_dir: Path) -> None:
    ca = next(ca for ca, leaves in CHAINS.items() if cert in leaves)
    openssl("verify", "-purpose", "sslclient", "-CAfile", ca, cert, cwd=pki_dir)


@pytest.mark.parametrize(
    ("cert", "subject", "usages", "sans"),
    [
        ("ca.crt", "CN = kubernetes", None, "DNS:kubernetes"),
        (
            "apiserver.crt", "CN = kube-apiserver", "TLS Web Server Authentication",
            "DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, "
            "DNS:kubernetes.default.svc.cluster.local, DNS:node1, IP Address:10.96.0.1, "
            "IP Address:127.0.0.1",
        ),
        (
            "apiserver-kubelet-client.crt", "O = kubeadm:cluster-admins, CN = "
            "kube-apiserver-kubelet-client", "TLS Web Client Authentication", None,
        ),
        ("front-proxy-client.crt", "CN = front-proxy-client", "TLS Web Client Authentication", None),
        (
            "etcd/server.crt", "CN = node1",
            "TLS Web Server Authentication, TLS Web Client Authentication",
            "DNS:localhost, DNS:node1, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
        ),
        (
            "etcd/healthcheck-client.crt", "CN = kube-etcd-healthcheck-client",
            "TLS Web Client Authentication", None,
        ),
        (
            "apiserver-etcd-client.crt", "CN = kube-apiserver-etcd-client",
            "TLS Web Client Authentication", None,
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and value.endswith(".crt") else "",
)  # fmt: skip
def test_openssl_reads_kubeadm_subjects_usages_and_sans(
    cert: str, subject: str, usages: str | None, sans: str | None, pki_dir: Path
) -> None:
    text = x509_text(pki_dir / cert)
    assert re.search(rf"Subject: {re.escape(subject)}\n", text)
    ca = usages is None
    key_usage = "Digital Signature, Certificate Sign" if ca else "Digital Signature"
    assert re.search(rf"X509v3 Key Usage: critical\n\s+{key_usage}\n", text)
    assert re.search(rf"X509v3 Basic Constraints: critical\n\s+CA:{str(ca).upper()}\n", text)
    if usages:
        assert re.search(rf"X509v3 Extended Key Usage: \n\s+{usages}\n", text)
    if sans:
        assert re.search(rf"X509v3 Subject Alternative Name: \n\s+{re.escape(sans)}\n", text)
    else:
        assert "Subject Alternative Name" not in text
    assert "Signature Algorithm: ecdsa-with-SHA256" in text


def test_rsa_certificates_add_key_encipherment(tmp_path: Path) -> None:
    ensure_certs(PKISettings("node1", "10.0.0.1", encryption_algorithm="RSA-2048"), tmp_path)
    text = x509_text(tmp_path / "apiserver.crt")
    assert re.search(r"X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n", text)
    assert "Signature Algorithm: sha256WithRSAEncryption" in text
    assert (tmp_path / "apiserver.key").read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    openssl("rsa", "-in", "apiserver.key", "-check", "-noout", cwd=tmp_path)


def test_ca_cert_hash_matches_the_openssl_recipe(pki_dir: Path) -> None:
    pubkey = openssl("x509", "-in", "ca.crt", "-noout", "-pubkey", cwd=pki_dir).stdout
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"],
        input=pubkey.encode(), capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    digest = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hex"],
        input=der,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    assert ca_cert_hash((pki_dir / "ca.crt").read_bytes()) == "sha256:" + digest.split()[-1]


def test_sa_pub_is_the_public_half_of_sa_key(pki_dir: Path) -> None:
    derived = openssl("pkey", "-in", "sa.key", "-pubout", cwd=pki_dir).stdout
    assert derived == (pki_dir / "sa.pub").read_text()
