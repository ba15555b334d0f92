"""Which CSRs the approver recognises, what the signer refuses, and what it issues."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubeadmpy.controllers.cluster import csr, csrapproving, signer
from kubeadmpy.pki import certs, keys


def request_pem(cn: str, orgs: tuple[str, ...] = ("system:nodes",),
                dns: tuple[str, ...] = ()) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([*(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    if dns:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return base64.b64encode(pem).decode()


def kubelet_csr(cn: str = "system:node:n1", username: str = "system:bootstrap:abcdef",
                usages: tuple[str, ...] = ("digital signature", "client auth"),
                **kwargs: Any) -> dict[str, Any]:
    return {"metadata": {"name": "x"},
            "spec": {"request": request_pem(cn, **kwargs), "username": username,
                     "signerName": csr.KUBELET_CLIENT_SIGNER, "usages": list(usages)}}


@pytest.mark.parametrize(("obj", "permissions"), [
    (kubelet_csr(), ["nodeclient"]),
    (kubelet_csr(username="system:node:n1"), ["selfnodeclient", "nodeclient"]),
    (kubelet_csr(usages=("digital signature", "server auth")), []),
    (kubelet_csr(orgs=("system:nodes", "admins")), []),
    (kubelet_csr(cn="jane"), []),
    (kubelet_csr(dns=("n1.example",)), []),
    ({**kubelet_csr(), "spec": {**kubelet_csr()["spec"],
                                "signerName": csr.API_CLIENT_SIGNER}}, []),
], ids=["a bootstrap user's kubelet CSR needs nodeclient",
        "a node renewing its own certificate: selfnodeclient first",
        "server auth is not a client usage", "an extra organization",
        "not a node common name", "SANs are not allowed", "another signer is not auto-approved"])
def test_the_approver_recognises_only_kubelet_client_requests(
        obj: dict[str, Any], permissions: list[str]) -> None:
    assert csrapproving.recognized_permissions(obj) == permissions


def test_the_access_review_asks_about_the_requester() -> None:
    obj = kubelet_csr()
    obj["spec"].update(groups=["system:bootstrappers"], uid="u1")
    review = csrapproving.access_review(obj, "nodeclient")
    assert review["spec"] == {
        "user": "system:bootstrap:abcdef", "groups": ["system:bootstrappers"], "uid": "u1",
        "resourceAttributes": {"group": "certificates.k8s.io",
                               "resource": "certificatesigningrequests", "verb": "create",
                               "subresource": "nodeclient"}}


@pytest.mark.parametrize(("validator", "obj", "message"), [
    (csr.validate_kubelet_serving, kubelet_csr(), "DNS or IP"),
    (csr.validate_kubelet_serving,
     kubelet_csr(dns=("n1",), usages=("digital signature", "client auth")), "not allowed"),
    (csr.validate_api_client, kubelet_csr(usages=("digital signature",)), "client auth"),
    (csr.validate_kubelet_client, kubelet_csr(orgs=()), "organization"),
], ids=["serving without addresses", "serving with client usages",
        "api client without client auth", "kubelet client without system:nodes"])
def test_signer_rules_refuse_with_a_reason(validator: Any, obj: dict[str, Any],
                                           message: str) -> None:
    with pytest.raises(csr.InvalidRequest, match=message):
        validator(csr.parse_request(obj), csr.usages(obj))


def test_garbage_in_spec_request_is_an_invalid_request() -> None:
    with pytest.raises(csr.InvalidRequest, match=r"spec\.request"):
        csr.parse_request({"spec": {"request": "bm90IGEgY3Ny"}})


@pytest.mark.parametrize(("expiration", "expected"), [
    (None, 365 * 86400), (3600, 3600), (60, 600), (10 ** 9, 365 * 86400)],
    ids=["default duration", "expirationSeconds", "at least 10 minutes",
         "at most the signing duration"])
def test_certificate_duration(expiration: int | None, expected: int) -> None:
    duration = signer.certificate_duration(dt.timedelta(days=365), expiration)
    assert duration.total_seconds() == expected


def test_issued_certificates_carry_the_requested_usages_and_subject() -> None:
    ca_key = keys.generate_key("ECDSA-P256")
    ca_cert = certs.create_ca("kubernetes", ca_key, dt.timedelta(days=3650))
    obj = kubelet_csr(dns=("n1",), usages=("digital signature", "server auth"))
    now = dt.datetime.now(dt.UTC)
    pem = signer.sign(signer.SigningCA(ca_cert, ca_key), csr.parse_request(obj).request,
                      csr.usages(obj), dt.timedelta(hours=1), now)
    issued = x509.load_pem_x509_certificate(pem)
    assert issued.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == \
        "system:node:n1"
    assert issued.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == \
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    assert issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.DNSName) == ["n1"]
    assert not issued.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert issued.not_valid_after_utc - issued.not_valid_before_utc == \
        dt.timedelta(hours=1, minutes=5)
    assert certs.is_signed_by(issued, ca_cert)
