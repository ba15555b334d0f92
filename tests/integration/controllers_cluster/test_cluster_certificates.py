"""CSR approving and signing against the real API server: keys and requests made by the real
openssl, approval by the real kubectl or by the approver, issued certificates checked with
`openssl verify` against the cluster CA."""

from __future__ import annotations

import base64
import secrets
import string
import subprocess
from pathlib import Path
from typing import Any

from cluster_controllers_harness import (
    csr_object,
    eventually,
    openssl_csr,
    openssl_verify,
    running_controllers,
)

from apiserver_harness import Cluster  # isort: skip
from kubeadmpy.client import Client, ClientConfig, TokenSource
from kubeadmpy.controllers.cluster import csrapproving, csrsigning
from kubeadmpy.controllers.registry import ManagerOptions


def openssl_text(cert: Path) -> str:
    return subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-text",
                           "-dates"], check=True, capture_output=True, text=True).stdout


def signing_options(cluster: Cluster) -> ManagerOptions:
    return ManagerOptions(cluster_signing_cert_file=cluster.certs.path("ca.crt"),
                          cluster_signing_key_file=cluster.certs.path("ca.key"))


async def issued(admin: Client, name: str) -> str:
    async def certificate() -> str | None:
        csr = await admin.get("certificatesigningrequests", name)
        return (csr.get("status") or {}).get("certificate")
    return base64.b64decode(await eventually(
        certificate, f"csr {name} has a certificate")).decode()


async def test_an_approved_api_client_csr_is_signed_for_its_expiration_seconds(
        admin: Client, cluster: Cluster, tmp_path: Path) -> None:
    _, pem = openssl_csr(tmp_path, "jane", "/O=devs/CN=jane")
    await admin.create("certificatesigningrequests", csr_object(
        "jane", pem, "kubernetes.io/kube-apiserver-client",
        ["client auth", "digital signature"], expiration_seconds=3600))
    async with running_controllers(admin, signing_options(cluster),
                                   ("csrsigning", csrsigning.new_controller)):
        cluster.kubectl("1.33", "certificate", "approve", "jane")
        cert = tmp_path / "jane.crt"
        cert.write_text(await issued(admin, "jane"))
    openssl_verify(cluster.certs.path("ca.crt"), cert)
    text = openssl_text(cert)
    assert "O=devs, CN=jane" in text or "O = devs, CN = jane" in text
    assert "TLS Web Client Authentication" in text and "Digital Signature" in text
    assert "CA:FALSE" in text
    from cryptography import x509
    parsed = x509.load_pem_x509_certificate(cert.read_bytes())
    lifetime = parsed.not_valid_after_utc - parsed.not_valid_before_utc
    assert lifetime.total_seconds() == 3600 + 300  # expirationSeconds + the 5 min backdate
    shown = cluster.kubectl("1.33", "get", "csr", "jane").stdout
    assert "Approved,Issued" in shown


async def test_a_kubelet_serving_csr_without_addresses_fails_validation(
        admin: Client, cluster: Cluster, tmp_path: Path) -> None:
    _, pem = openssl_csr(tmp_path, "serving", "/O=system:nodes/CN=system:node:worker-1")
    await admin.create("certificatesigningrequests", csr_object(
        "serving", pem, "kubernetes.io/kubelet-serving",
        ["digital signature", "server auth"]))
    async with running_controllers(admin, signing_options(cluster),
                                   ("csrsigning", csrsigning.new_controller)):
        cluster.kubectl("1.33", "certificate", "approve", "serving")

        async def failed() -> dict[str, Any] | None:
            csr = await admin.get("certificatesigningrequests", "serving")
            return next((c for c in (csr.get("status") or {}).get("conditions") or []
                         if c["type"] == "Failed"), None)
        condition = await eventually(failed, "the serving CSR is marked Failed")
    assert condition["reason"] == "SignerValidationFailure"
    assert "DNS or IP" in condition["message"]


def _random(length: int) -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits)
                   for _ in range(length))


async def _kubeadm_bootstrap_rbac(admin: Client) -> None:
    """The bindings `kubeadm init` creates for TLS bootstrap (kubeadm.md §6.6)."""
    group = "system:bootstrappers:kubeadm:default-node-token"
    for name, role, subject in (
            ("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", group),
            ("kubeadm:node-autoapprove-bootstrap",
             "system:certificates.k8s.io:certificatesigningrequests:nodeclient", group),
            ("kubeadm:node-autoapprove-certificate-rotation",
             "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
             "system:nodes")):
        await admin.apply("clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                          "name": subject}]}, field_manager="kubeadm")


async def _post_kubelet_csr(config: ClientConfig, name: str, pem: str,
                            state_requester: bool) -> dict[str, Any]:
    """Create a kubelet client CSR as the identity of `config`. With `state_requester` the
    client first asks the server who it is (SelfSubjectReview) and puts exactly that in
    spec.username/groups/uid/extra — what upstream's server records itself, so upstream
    would store the same values."""
    body = csr_object(name, pem, "kubernetes.io/kube-apiserver-client-kubelet",
                      ["digital signature", "client auth"])
    async with Client(config) as kubelet:
        if state_requester:
            review = await kubelet.request(
                "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
            user = review["status"]["userInfo"]
            body["spec"].update({k: v for k, v in (
                ("username", user.get("username")), ("groups", user.get("groups")),
                ("uid", user.get("uid")), ("extra", user.get("extra"))) if v})
        created: dict[str, Any] = await kubelet.create("certificatesigningrequests", body)
    return created


async def _bootstrap_then_renew(admin: Client, cluster: Cluster, tmp_path: Path,
                                state_requester: bool) -> None:
    """A joining kubelet's CSR (bootstrap token) and then its renewal (its new certificate):
    both auto-approved after a SubjectAccessReview, signed, verified by openssl."""
    token_id, token_secret = _random(6), _random(16)
    await admin.create("secrets", {
        "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "stringData": {"token-id": token_id, "token-secret": token_secret,
                       "usage-bootstrap-authentication": "true",
                       "usage-bootstrap-signing": "true",
                       "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token"}},
        "kube-system")
    await _kubeadm_bootstrap_rbac(admin)
    admin_config = admin.config
    bootstrap = ClientConfig(server=admin_config.server, ca_pem=admin_config.ca_pem,
                             token_source=TokenSource(f"{token_id}.{token_secret}"))
    subject = "/O=system:nodes/CN=system:node:worker-1"
    key, pem = openssl_csr(tmp_path, "kubelet-client", subject)
    controllers = (("csrapproving", csrapproving.new_controller),
                   ("csrsigning", csrsigning.new_controller))
    async with running_controllers(admin, signing_options(cluster), *controllers):
        created = await _post_kubelet_csr(bootstrap, "node-csr-bootstrap", pem,
                                          state_requester)
        assert created["spec"]["username"] == f"system:bootstrap:{token_id}"
        cert = tmp_path / "kubelet-client.crt"
        cert.write_text(await issued(admin, "node-csr-bootstrap"))
        approved = await admin.get("certificatesigningrequests", "node-csr-bootstrap")
        condition = approved["status"]["conditions"][0]
        assert (condition["type"], condition["reason"]) == ("Approved", "AutoApproved")
        assert condition["message"] == ("Auto approving kubelet client certificate after "
                                        "SubjectAccessReview.")
        openssl_verify(cluster.certs.path("ca.crt"), cert)

        # renewal: the node, now authenticated by that certificate, asks for a new one
        renewed_config = ClientConfig(server=admin_config.server, ca_pem=admin_config.ca_pem,
                                      client_cert_pem=cert.read_bytes(),
                                      client_key_pem=key.read_bytes())
        _, renewal_pem = openssl_csr(tmp_path, "kubelet-renewal", subject)
        renewed = await _post_kubelet_csr(renewed_config, "node-csr-renewal", renewal_pem,
                                          state_requester)
        assert renewed["spec"]["username"] == "system:node:worker-1"
        renewal = tmp_path / "kubelet-renewal.crt"
        renewal.write_text(await issued(admin, "node-csr-renewal"))
        renewed = await admin.get("certificatesigningrequests", "node-csr-renewal")
        assert renewed["status"]["conditions"][0]["message"] == (
            "Auto approving self kubelet client certificate after SubjectAccessReview.")
        openssl_verify(cluster.certs.path("ca.crt"), renewal)


async def test_kubelet_bootstrap_and_renewal_csrs_are_approved_and_signed(
        admin: Client, cluster: Cluster, tmp_path: Path) -> None:
    """The requester fields are filled in by the client with what the server says it is
    (see _post_kubelet_csr); the next test shows the server records them itself."""
    await _bootstrap_then_renew(admin, cluster, tmp_path, state_requester=True)


async def test_the_server_records_who_asked_for_a_kubelet_certificate(
        admin: Client, cluster: Cluster, tmp_path: Path) -> None:
    await _bootstrap_then_renew(admin, cluster, tmp_path, state_requester=False)
