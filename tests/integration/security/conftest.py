"""Fixtures for the security integration tests: a private etcd per test module, and the
HTTPS harness wired to a SecurityStack (kubeadmpy PKI, bootstrap policy, a `dev` group bound
to `edit` in team-a, one valid and one expired bootstrap token)."""

from __future__ import annotations

import base64
import datetime as dt
import os
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir
from security_etcd import Etcd, start_etcd, stop_etcd
from security_server import DictObjects, HarnessServer

from kubeadmpy import pki
from kubeadmpy.security import bootstrap_policy
from kubeadmpy.security.stack import SecuritySettings, build_stack

ISSUER = "https://kubernetes.default.svc.cluster.local"
# hypothesis caches data in ./.hypothesis by default; keep the work tree clean
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "kubeadmpy-hypothesis"))


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Etcd]:
    server = start_etcd(Path(tmp_path_factory.mktemp("security-etcd")))
    try:
        yield server
    finally:
        stop_etcd(server)


def token_secret(token_id: str, secret: str, expiration: dt.datetime) -> dict[str, object]:
    values = {"token-id": token_id, "token-secret": secret,
              "usage-bootstrap-authentication": "true",
              "expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token"}
    return {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
            "metadata": {"namespace": "kube-system", "name": f"bootstrap-token-{token_id}"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HarnessServer, Path,
                                                                        pki.PKISettings]]:
    directory = Path(tmp_path_factory.mktemp("security-kubectl"))
    settings = pki.PKISettings(node_name="node1", advertise_address="127.0.0.1")
    pki.ensure_certs(settings, directory)
    now = dt.datetime.now(dt.UTC)
    objects = DictObjects([
        ("secrets", token_secret("abcdef", "0123456789abcdef", now + dt.timedelta(hours=1))),
        ("secrets", token_secret("zzzzzz", "0123456789abcdef", now - dt.timedelta(hours=1)))])
    stack = build_stack(SecuritySettings.from_flags({
        "client-ca-file": str(directory / "ca.crt"), "anonymous-auth": "true",
        "enable-bootstrap-token-auth": "true", "service-account-issuer": ISSUER,
        "service-account-key-file": str(directory / "sa.pub"),
        "service-account-signing-key-file": str(directory / "sa.key"),
        "authorization-mode": "Node,RBAC", "enable-admission-plugins": "NodeRestriction"}),
        objects)
    stack.rbac.load([*bootstrap_policy.all_objects(), {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "dev-edit", "namespace": "team-a"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                      "name": "dev"}]}])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "apiserver.crt", directory / "apiserver.key")
    context.load_verify_locations(directory / "ca.crt")
    context.verify_mode = ssl.CERT_OPTIONAL
    server = HarnessServer(stack, context)
    server.start()
    try:
        yield server, directory, settings
    finally:
        server.stop()
