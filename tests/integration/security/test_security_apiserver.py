"""The issue's must-shows through the real kubeadmpy-apiserver with kubeadmpy.security wired in.

A real etcd and the real server (`python -m kubeadmpy.apiserver.main`, Node,RBAC, bootstrap
tokens, service-account keys from kubeadmpy.pki) on kernel-chosen loopback ports, judged by the
real kubectl: a `dev` user bound to `edit` in one namespace creates deployments there and
nowhere else; a kubelet identity cannot read secrets of pods not bound to it nor change another
node; an expired bootstrap token, a certificate from another CA, an expired certificate, a
token bound to a deleted pod and a token signed by another key are each a 401 with the reason
in the server's log.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from security_etcd import Etcd, free_port

from kubeadmpy import pki
from kubeadmpy.security.serviceaccount import TokenIssuer

KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"
ISSUER = "https://kubernetes.default.svc.cluster.local"


@dataclass
class Server:
    url: str
    directory: Path
    settings: pki.PKISettings
    log: Path

    def kubeconfig(self, name: str, groups: list[str], token: str | None = None) -> Path:
        credential = hashlib.sha256(token.encode()).hexdigest()[:12] if token else "cert"
        path = self.directory / f"{name.replace(':', '_')}-{credential}.conf"
        path.write_text(pki.kubeconfig_for_user(name, groups, self.settings, self.directory,
                                                token=token, server=self.url))
        return path

    def kubectl(self, config: Path, *args: str,
                stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        home = self.directory / "home"
        home.mkdir(exist_ok=True)
        return subprocess.run([KUBECTL, f"--kubeconfig={config}",
                               f"--cache-dir={home / config.stem}", *args], input=stdin,
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "HOME": str(home)})


@pytest.fixture(scope="module")
def server(etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = Path(tmp_path_factory.mktemp("security-apiserver"))
    settings = pki.PKISettings(node_name="node1", advertise_address="127.0.0.1")
    pki.ensure_certs(settings, directory)
    port = free_port()
    log = directory / "apiserver.log"
    handle = log.open("wb")
    proc = subprocess.Popen([
        sys.executable, "-m", "kubeadmpy.apiserver.main", f"--etcd-servers={etcd.url}",
        "--bind-address=127.0.0.1", f"--secure-port={port}", "--advertise-address=127.0.0.1",
        f"--tls-cert-file={directory / 'apiserver.crt'}",
        f"--tls-private-key-file={directory / 'apiserver.key'}",
        f"--client-ca-file={directory / 'ca.crt'}", "--authorization-mode=Node,RBAC",
        "--enable-bootstrap-token-auth=true", "--enable-admission-plugins=NodeRestriction",
        f"--service-account-issuer={ISSUER}",
        f"--service-account-key-file={directory / 'sa.pub'}",
        f"--service-account-signing-key-file={directory / 'sa.key'}",
        "--service-cluster-ip-range=10.96.0.0/12", "--v=2"],
        stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    handle.close()
    url = f"https://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=str(directory / "ca.crt"))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/readyz", context=context, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "apiserver not ready:\n" + log.read_text()[-3000:]
            time.sleep(0.2)
        yield Server(url, directory, settings, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(15)


def apply(server: Server, manifest: dict[str, object]) -> None:
    admin = server.kubeconfig("kubernetes-admin", ["system:masters"])
    result = server.kubectl(admin, "apply", "-f", "-", stdin=json.dumps(manifest))
    assert result.returncode == 0, result.stderr


def test_a_dev_user_bound_to_edit_in_one_namespace(server: Server) -> None:
    for name in ("team-a", "team-b"):
        apply(server, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    apply(server, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "dev-edit", "namespace": "team-a"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                               "name": "edit"},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                 "name": "dev"}]})
    dev = server.kubeconfig("carol", ["dev"])
    deadline = time.monotonic() + 20  # the binding reaches the authorizer through a watch
    while True:
        made = server.kubectl(dev, "create", "deployment", "web", "--image=busybox",
                              "-n", "team-a")
        if made.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert made.returncode == 0, made.stderr
    refused = server.kubectl(dev, "create", "deployment", "web", "--image=busybox",
                             "-n", "team-b")
    assert refused.returncode != 0
    assert ('deployments.apps is forbidden: User "carol" cannot create resource "deployments" '
            'in API group "apps" in the namespace "team-b"') in refused.stderr
    assert server.kubectl(dev, "get", "nodes").returncode != 0
    whoami = server.kubectl(dev, "auth", "whoami")
    assert "carol" in whoami.stdout and "[dev system:authenticated]" in whoami.stdout
    listing = server.kubectl(dev, "auth", "can-i", "--list", "-n", "team-a")
    assert listing.returncode == 0, listing.stderr
    assert any(line.startswith("deployments.apps ") and "create" in line
               for line in listing.stdout.splitlines())


def test_a_kubelet_reads_only_what_its_pods_need(server: Server) -> None:
    apply(server, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nodes-ns"}})
    # what the serviceaccount controller would make; ServiceAccount admission needs it
    apply(server, {"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "default", "namespace": "nodes-ns"}})
    for name in ("mine", "theirs"):
        apply(server, {"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": name, "namespace": "nodes-ns"}, "stringData": {"k": "v"}})
    for pod, node, secret in (("on-n1", "n1", "mine"), ("on-n2", "n2", "theirs")):
        apply(server, {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": pod, "namespace": "nodes-ns"},
                       "spec": {"nodeName": node, "containers": [{"name": "c",
                                                                  "image": "busybox"}],
                                "volumes": [{"name": "s", "secret": {"secretName": secret}}]}})
    kubelet = server.kubeconfig("system:node:n1", ["system:nodes"])
    deadline = time.monotonic() + 20  # pods reach the Node authorizer through a watch
    while True:
        mine = server.kubectl(kubelet, "get", "secret", "mine", "-n", "nodes-ns")
        if mine.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert mine.returncode == 0, mine.stderr
    theirs = server.kubectl(kubelet, "get", "secret", "theirs", "-n", "nodes-ns")
    assert theirs.returncode != 0 and "forbidden" in theirs.stderr
    listing = server.kubectl(kubelet, "get", "secrets", "-n", "nodes-ns")
    assert listing.returncode != 0 and "forbidden" in listing.stderr
    apply(server, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"}})
    patch = server.kubectl(kubelet, "label", "node", "n2", "hijacked=yes")
    assert patch.returncode != 0 and "forbidden" in patch.stderr


def test_an_expired_bootstrap_token_is_401_with_a_logged_reason(server: Server) -> None:
    expired = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    values = {"token-id": "oldtok", "token-secret": "0123456789abcdef",
              "usage-bootstrap-authentication": "true", "expiration": expired}
    apply(server, {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
                   "metadata": {"name": "bootstrap-token-oldtok", "namespace": "kube-system"},
                   "data": {k: base64.b64encode(v.encode()).decode()
                            for k, v in values.items()}})
    config = server.kubeconfig("tls-bootstrap-token-user", [], token="oldtok.0123456789abcdef")
    deadline = time.monotonic() + 20
    while True:
        result = server.kubectl(config, "get", "--raw", "/api")
        if "oldtok' expired" in server.log.read_text() or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert result.returncode != 0
    assert "Unauthorized" in result.stderr
    assert "bootstrap token 'oldtok' expired" in server.log.read_text()


def client_kubeconfig(server: Server, name: str, cert: x509.Certificate,
                      key: pki.keys.PrivateKey) -> Path:
    """A kubeconfig trusting the server's CA, presenting `cert` (signed by anyone)."""
    path = server.directory / f"{name}.conf"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": "c", "cluster": {
            "server": server.url,
            "certificate-authority-data": base64.b64encode(
                (server.directory / "ca.crt").read_bytes()).decode()}}],
        "users": [{"name": name, "user": {
            "client-certificate-data": base64.b64encode(pki.certs.cert_pem(cert)).decode(),
            "client-key-data": base64.b64encode(pki.keys.private_key_pem(key)).decode()}}],
        "contexts": [{"name": name, "context": {"cluster": "c", "user": name}}]}))
    return path


def signed_client(ca_cert: x509.Certificate, ca_key: pki.keys.PrivateKey, name: str,
                  not_after: dt.datetime) -> tuple[x509.Certificate, pki.keys.PrivateKey]:
    """A system:masters client certificate valid from a week ago until `not_after`."""
    key = pki.keys.generate_key("ECDSA-P256")
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(x509.oid.NameOID.ORGANIZATION_NAME, "system:masters"),
                x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(days=7))
            .not_valid_after(not_after)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def wait_for_log(server: Server, text: str) -> str:
    deadline = time.monotonic() + 10  # the log line is flushed right after the response
    while text not in (log := server.log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return log


def test_a_certificate_from_another_ca_is_401_with_a_logged_reason(
        server: Server, tmp_path: Path) -> None:
    # The rogue CA has the same subject ("kubernetes") as the cluster's: only the key differs.
    pki.ensure_certs(server.settings, tmp_path, names=["ca"])
    rogue_ca = pki.certs.load_cert(tmp_path / "ca.crt")
    assert rogue_ca.subject == pki.certs.load_cert(server.directory / "ca.crt").subject
    cert, key = signed_client(rogue_ca, pki.keys.load_private_key(tmp_path / "ca.key"),
                              "mallory", dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    result = server.kubectl(client_kubeconfig(server, "mallory", cert, key), "get", "nodes")
    assert result.returncode != 0
    assert "error: You must be logged in to the server" in result.stderr
    assert "certificate signed by unknown authority" in wait_for_log(
        server, "certificate signed by unknown authority")


def test_an_expired_certificate_from_the_cluster_ca_is_401(server: Server) -> None:
    ca_cert = pki.certs.load_cert(server.directory / "ca.crt")
    ca_key = pki.keys.load_private_key(server.directory / "ca.key")
    cert, key = signed_client(ca_cert, ca_key, "old-admin",
                              dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    result = server.kubectl(client_kubeconfig(server, "old-admin", cert, key), "get", "nodes")
    assert result.returncode != 0
    assert "error: You must be logged in to the server" in result.stderr
    assert "certificate has expired" in wait_for_log(server, "certificate has expired")


def bound_token(server: Server, namespace: str, pod: str) -> str:
    """`kubectl create token` for the pod's service account, bound to the pod."""
    admin = server.kubeconfig("kubernetes-admin", ["system:masters"])
    made = server.kubectl(admin, "create", "token", "builder", "-n", namespace,
                          "--bound-object-kind=Pod", f"--bound-object-name={pod}")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_a_token_bound_to_a_deleted_pod_is_401_with_a_logged_reason(server: Server) -> None:
    apply(server, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tokens"}})
    apply(server, {"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "builder", "namespace": "tokens"}})
    apply(server, {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "job-1", "namespace": "tokens"},
                   "spec": {"serviceAccountName": "builder",
                            "containers": [{"name": "c", "image": "busybox"}]}})
    token = bound_token(server, "tokens", "job-1")
    config = server.kubeconfig("builder", [], token=token)
    whoami = server.kubectl(config, "auth", "whoami", "-o", "json")
    assert whoami.returncode == 0, whoami.stderr
    user = json.loads(whoami.stdout)["status"]["userInfo"]
    assert user["username"] == "system:serviceaccount:tokens:builder"
    assert user["extra"]["authentication.kubernetes.io/pod-name"] == ["job-1"]

    admin = server.kubeconfig("kubernetes-admin", ["system:masters"])
    deleted = server.kubectl(admin, "delete", "pod", "job-1", "-n", "tokens", "--wait=false")
    assert deleted.returncode == 0, deleted.stderr
    deadline = time.monotonic() + 20  # the deletion reaches the authenticator's pod cache
    while True:
        result = server.kubectl(config, "auth", "whoami")
        if result.returncode != 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert "error: You must be logged in to the server" in result.stderr
    assert "pod tokens/job-1 has been deleted" in wait_for_log(
        server, "pod tokens/job-1 has been deleted")


def test_a_token_signed_by_another_key_is_401_with_a_logged_reason(server: Server) -> None:
    apply(server, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "forged"}})
    apply(server, {"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "builder", "namespace": "forged"}})
    admin = server.kubeconfig("kubernetes-admin", ["system:masters"])
    uid = server.kubectl(admin, "get", "sa", "builder", "-n", "forged",
                         "-o", "jsonpath={.metadata.uid}").stdout
    # Right issuer, audience, subject and uid: only the signing key is not the cluster's.
    forger = TokenIssuer(pki.keys.generate_key("ECDSA-P256"), ISSUER)
    token, _ = forger.issue("forged", "builder", uid, [ISSUER], 600)
    result = server.kubectl(server.kubeconfig("forger", [], token=token), "auth", "whoami")
    assert result.returncode != 0
    assert "error: You must be logged in to the server" in result.stderr
    assert "signature does not verify" in wait_for_log(server, "signature does not verify")
