"""Interoperability with real openssl and kubeadmpy's own PKI.

Certificates and service-account keys made by the openssl CLI (and by kubeadmpy.pki, as
`kubeadmpy init` makes them) are accepted; a certificate from another CA is refused with a
reason; service-account tokens verify with `openssl dgst` and tokens signed by `openssl dgst`
verify here, so the JWS format is the standard one and not just self-consistent.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from kubeadmpy import pki
from kubeadmpy.security import jws
from kubeadmpy.security.authn import AuthenticationChain, Credentials
from kubeadmpy.security.serviceaccount import (
    ObjectGetters,
    ServiceAccountAuthenticator,
    TokenIssuer,
)
from kubeadmpy.security.x509_auth import X509Authenticator, load_ca_bundle

ISSUER = "https://kubernetes.default.svc.cluster.local"


def openssl(*args: str, cwd: Path, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], cwd=cwd, input=stdin, capture_output=True,
                          check=True, timeout=60).stdout


def make_ca(directory: Path, name: str) -> None:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", "/CN=kubernetes",
            "-days", "10", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)


def make_client(directory: Path, ca: str, name: str, subject: str,
                usage: str = "clientAuth") -> bytes:
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=directory)
    (directory / f"{name}.ext").write_text(f"extendedKeyUsage={usage}\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "5", "-extfile", f"{name}.ext",
            cwd=directory)
    return openssl("x509", "-in", f"{name}.crt", "-outform", "DER", cwd=directory)


@pytest.fixture(scope="module")
def openssl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = Path(tmp_path_factory.mktemp("openssl"))
    make_ca(directory, "ca")
    make_ca(directory, "rogue-ca")  # same subject, different key
    return directory


def test_openssl_client_certificates_authenticate_against_the_client_ca(
        openssl_dir: Path) -> None:
    chain = AuthenticationChain([X509Authenticator(load_ca_bundle(openssl_dir / "ca.crt"))])
    der = make_client(openssl_dir, "ca", "alice", "/O=dev/O=system:masters/CN=alice")
    result = chain.authenticate(Credentials(client_cert_der=der))
    assert result.user is not None
    assert (result.user.name, result.user.groups) == (
        "alice", ("dev", "system:masters", "system:authenticated"))


def test_a_certificate_from_another_ca_with_the_same_name_is_refused(openssl_dir: Path) -> None:
    chain = AuthenticationChain([X509Authenticator(load_ca_bundle(openssl_dir / "ca.crt"))])
    der = make_client(openssl_dir, "rogue-ca", "mallory", "/O=system:masters/CN=mallory")
    result = chain.authenticate(Credentials(client_cert_der=der))
    assert result.user is None
    assert "signed by unknown authority" in result.reason


def test_a_server_certificate_is_not_a_client_credential(openssl_dir: Path) -> None:
    chain = AuthenticationChain([X509Authenticator(load_ca_bundle(openssl_dir / "ca.crt"))])
    der = make_client(openssl_dir, "ca", "web", "/CN=web", usage="serverAuth")
    result = chain.authenticate(Credentials(client_cert_der=der))
    assert result.user is None and "key usage" in result.reason


def test_kubeadmpy_pki_admin_and_kubelet_identities(tmp_path: Path) -> None:
    settings = pki.PKISettings(node_name="node1", advertise_address="127.0.0.1")
    pki.ensure_certs(settings, tmp_path)
    chain = AuthenticationChain([X509Authenticator(load_ca_bundle(tmp_path / "ca.crt"))])
    for name, orgs in (("kubernetes-admin", ["kubeadm:cluster-admins"]),
                       ("system:node:node1", ["system:nodes"])):
        config = yaml.safe_load(pki.kubeconfig_for_user(name, orgs, settings, tmp_path,
                                                        server="https://127.0.0.1:6443"))
        pem = base64.b64decode(config["users"][0]["user"]["client-certificate-data"])
        der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
        result = chain.authenticate(Credentials(client_cert_der=der))
        assert result.user is not None
        assert (result.user.name, result.user.groups[:-1]) == (name, tuple(orgs))
    # and the PKI's service-account key pair signs and verifies tokens
    key = jws.load_signing_key(tmp_path / "sa.key")
    public = jws.load_verification_keys(tmp_path / "sa.pub")
    assert jws.key_id(public[0]) == jws.key_id(key.public_key())


def sa_objects() -> ObjectGetters:
    sa = {"metadata": {"namespace": "ns", "name": "builder", "uid": "sa-uid"}}
    return ObjectGetters(lambda ns, name: sa if (ns, name) == ("ns", "builder") else None)


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_tokens_verify_with_openssl_both_ways(tmp_path: Path, kind: str) -> None:
    if kind == "rsa":
        openssl("genrsa", "-out", "sa.key", "2048", cwd=tmp_path)
    else:
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key",
                cwd=tmp_path)
    openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=tmp_path)
    key = jws.load_signing_key(tmp_path / "sa.key")
    keys = jws.load_verification_keys(tmp_path / "sa.pub")
    authenticator = ServiceAccountAuthenticator([ISSUER], keys, sa_objects())

    # ours -> openssl
    token, _ = TokenIssuer(key, ISSUER).issue("ns", "builder", "sa-uid", [ISSUER], 3600)
    signing_input, signature = token.rsplit(".", 1)
    raw = jws.b64url_decode(signature)
    if kind == "ec":
        raw = encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                   int.from_bytes(raw[32:], "big"))
    (tmp_path / "sig").write_bytes(raw)
    verified = openssl("dgst", "-sha256", "-verify", "sa.pub", "-signature", "sig",
                       cwd=tmp_path, stdin=signing_input.encode())
    assert b"Verified OK" in verified

    # openssl -> ours (RSA: the signature is the JWS signature as is)
    if kind == "rsa":
        now = int(dt.datetime.now(dt.UTC).timestamp())
        claims: dict[str, Any] = {
            "iss": ISSUER, "aud": [ISSUER], "sub": "system:serviceaccount:ns:builder",
            "exp": now + 600, "iat": now, "nbf": now,
            "kubernetes.io": {"namespace": "ns",
                              "serviceaccount": {"name": "builder", "uid": "sa-uid"}}}
        header = jws.b64url_encode(json.dumps({"alg": "RS256"}).encode())
        payload = jws.b64url_encode(json.dumps(claims).encode())
        signature_bytes = openssl("dgst", "-sha256", "-sign", "sa.key", cwd=tmp_path,
                                  stdin=f"{header}.{payload}".encode())
        forged = f"{header}.{payload}.{jws.b64url_encode(signature_bytes)}"
        result = authenticator.authenticate_token(forged, ())
        assert result.user is not None
        assert result.user.name == "system:serviceaccount:ns:builder"
