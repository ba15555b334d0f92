"""TLS bootstrap: turn a bootstrap-token kubeconfig into the node's own client certificate.

What upstream's kubelet does on `kubeadm join`: when --kubeconfig does not exist but
--bootstrap-kubeconfig does, make a key, send a CertificateSigningRequest for
``system:node:<node>`` (organization ``system:nodes``) to the signer
``kubernetes.io/kube-apiserver-client-kubelet``, wait until it is approved and signed, store
cert + key as ``<cert-dir>/kubelet-client-<timestamp>.pem`` with the
``kubelet-client-current.pem`` link, and write the kubeconfig pointing at that link.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import os
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubeadmpy.client import Client, Clock, RealClock, errors, load_kubeconfig
from kubeadmpy.errors import ConfigError, KubeadmpyError
from kubeadmpy.files import write_file

SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
CURRENT_LINK = "kubelet-client-current.pem"


class BootstrapError(KubeadmpyError):
    """The CSR was denied, failed, or not signed in time."""


def make_csr(node_name: str) -> tuple[bytes, bytes]:
    """(CSR PEM, private key PEM) for the node's client identity."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node_name}")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return csr.public_bytes(serialization.Encoding.PEM), key_pem


def csr_object(node_name: str, csr_pem: bytes) -> dict[str, object]:
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"generateName": "node-csr-"},
            "spec": {"request": base64.b64encode(csr_pem).decode(), "signerName": SIGNER,
                     "usages": ["digital signature", "client auth"]}}


async def wait_for_certificate(client: Client, name: str, clock: Clock,
                               within_seconds: float) -> bytes:
    deadline = clock.now() + within_seconds
    while clock.now() < deadline:
        csr = await client.get("certificatesigningrequests", name)
        status = csr.get("status") or {}
        for condition in status.get("conditions") or []:
            if condition.get("type") in ("Denied", "Failed") and \
                    condition.get("status", "True") == "True":
                raise BootstrapError(f"certificate signing request {name} was "
                                     f"{condition['type'].lower()}: "
                                     f"{condition.get('message') or condition.get('reason')}")
        if status.get("certificate"):
            return base64.b64decode(status["certificate"])
        await clock.sleep(0.5)
    raise BootstrapError(f"certificate signing request {name} was not signed within "
                         f"{within_seconds:g} s: is the controller-manager's csrapproving and "
                         "csrsigning running?")


def write_client_pair(cert_dir: Path, cert_pem: bytes, key_pem: bytes, clock: Clock) -> Path:
    cert_dir.mkdir(parents=True, exist_ok=True)
    stamp = clock.wall().strftime("%Y-%m-%d-%H-%M-%S")
    pair = cert_dir / f"kubelet-client-{stamp}.pem"
    write_file(pair, cert_pem + key_pem, 0o600)
    link = cert_dir / CURRENT_LINK
    temporary = cert_dir / f".{CURRENT_LINK}.tmp"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(pair)
    os.replace(temporary, link)
    return link


def node_kubeconfig(bootstrap_path: Path, current: Path) -> str:
    """kubelet.conf: the bootstrap file's cluster, the rotated certificate as the user."""
    try:
        document = yaml.safe_load(bootstrap_path.read_text())
        cluster = document["clusters"][0]
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError("--bootstrap-kubeconfig", f"{bootstrap_path} has no cluster entry",
                          "give a kubeconfig with a cluster and a bootstrap token") from exc
    config = {"apiVersion": "v1", "kind": "Config",
              "clusters": [{"name": "default-cluster", "cluster": cluster["cluster"]}],
              "contexts": [{"name": "default-context", "context": {
                  "cluster": "default-cluster", "namespace": "default",
                  "user": "default-auth"}}],
              "current-context": "default-context",
              "users": [{"name": "default-auth", "user": {
                  "client-certificate": str(current), "client-key": str(current)}}],
              "preferences": {}}
    return yaml.safe_dump(config, sort_keys=False)


async def bootstrap(kubeconfig: Path, bootstrap_kubeconfig: Path, cert_dir: Path,
                    node_name: str, clock: Clock | None = None,
                    within_seconds: float = 300.0) -> bool:
    """Make `kubeconfig` by TLS bootstrap unless it exists; True when it was made."""
    if await asyncio.to_thread(kubeconfig.exists):
        return False
    if not await asyncio.to_thread(bootstrap_kubeconfig.exists):
        raise ConfigError("--bootstrap-kubeconfig", f"{bootstrap_kubeconfig} does not exist "
                          f"and neither does --kubeconfig {kubeconfig}",
                          "run kubeadmpy join (it writes bootstrap-kubelet.conf)")
    clock = clock or RealClock()
    csr_pem, key_pem = make_csr(node_name)
    async with Client(load_kubeconfig(bootstrap_kubeconfig)) as client:
        try:
            created = await client.create("certificatesigningrequests",
                                          csr_object(node_name, csr_pem))
        except errors.APIError as exc:
            raise BootstrapError(f"sending the certificate signing request: {exc}") from exc
        cert_pem = await wait_for_certificate(client, created["metadata"]["name"], clock,
                                              within_seconds)
    current = await asyncio.to_thread(write_client_pair, cert_dir, cert_pem, key_pem, clock)
    await asyncio.to_thread(write_file, kubeconfig,
                            node_kubeconfig(bootstrap_kubeconfig, current).encode(), 0o600)
    return True


def certificate_expiry(pem: bytes) -> datetime.datetime:
    return x509.load_pem_x509_certificate(pem).not_valid_after_utc
