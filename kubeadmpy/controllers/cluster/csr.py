"""CertificateSigningRequests as the approver and signer see them (pure functions).

Facts from upstream's certificates API: `spec.request` is a base64 PEM "CERTIFICATE REQUEST";
kubelet client CSRs (signer kubernetes.io/kube-apiserver-client-kubelet) ask for O=system:nodes,
CN=system:node:<name>, no SANs, and only the usages digital signature, key encipherment, client
auth (client auth required); kubelet serving CSRs (kubernetes.io/kubelet-serving) ask for the
same subject, at least one DNS or IP SAN, no email/URI SANs and server auth; plain API client
CSRs (kubernetes.io/kube-apiserver-client) need client auth and nothing beyond the client usages.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from kubeadmpy.controllers.cluster.common import spec, status

KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING_SIGNER = "kubernetes.io/kubelet-serving"
API_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"
NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
CLIENT_USAGES = frozenset({"digital signature", "key encipherment", "client auth"})
SERVING_USAGES = frozenset({"digital signature", "key encipherment", "server auth"})


class InvalidRequest(Exception):
    """The CSR does not meet its signer's rules; the message says which."""


@dataclass(frozen=True)
class ParsedCSR:
    request: x509.CertificateSigningRequest
    common_name: str
    organizations: tuple[str, ...]
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    emails: tuple[str, ...]
    uris: tuple[str, ...]


def parse_request(csr: Mapping[str, Any]) -> ParsedCSR:
    raw = spec(csr).get("request")
    try:
        pem = base64.b64decode(str(raw or ""), validate=True)
        request = x509.load_pem_x509_csr(pem)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest(f"spec.request is not a PEM certificate request: {exc}") from exc
    if not request.is_signature_valid:
        raise InvalidRequest("spec.request: the request's signature does not verify")
    subject = request.subject
    try:
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = x509.SubjectAlternativeName([])
    return ParsedCSR(
        request,
        common_name=", ".join(str(a.value) for a in
                              subject.get_attributes_for_oid(NameOID.COMMON_NAME)),
        organizations=tuple(sorted(str(a.value) for a in
                                   subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))),
        dns_names=tuple(sans.get_values_for_type(x509.DNSName)),
        ip_addresses=tuple(str(ip) for ip in sans.get_values_for_type(x509.IPAddress)),
        emails=tuple(sans.get_values_for_type(x509.RFC822Name)),
        uris=tuple(sans.get_values_for_type(x509.UniformResourceIdentifier)))


def usages(csr: Mapping[str, Any]) -> list[str]:
    return [str(u) for u in spec(csr).get("usages") or []]


def _check_usages(requested: list[str], allowed: frozenset[str], required: str) -> None:
    extra = sorted(set(requested) - allowed)
    if extra:
        raise InvalidRequest(f"usages not allowed for this signer: {', '.join(extra)}")
    if required not in requested:
        raise InvalidRequest(f"usages must include {required!r}")


def _check_node_subject(parsed: ParsedCSR) -> None:
    if parsed.organizations != (NODES_GROUP,):
        raise InvalidRequest(f"subject organization must be exactly [{NODES_GROUP}], got "
                             f"{list(parsed.organizations)}")
    if not parsed.common_name.startswith(NODE_USER_PREFIX):
        raise InvalidRequest(f"subject common name must start with {NODE_USER_PREFIX!r}, "
                             f"got {parsed.common_name!r}")


def validate_kubelet_client(parsed: ParsedCSR, requested: list[str]) -> None:
    _check_node_subject(parsed)
    if parsed.dns_names or parsed.ip_addresses or parsed.emails or parsed.uris:
        raise InvalidRequest("a kubelet client certificate may not carry DNS, IP, email or "
                             "URI subject alternative names")
    _check_usages(requested, CLIENT_USAGES, "client auth")


def validate_kubelet_serving(parsed: ParsedCSR, requested: list[str]) -> None:
    _check_node_subject(parsed)
    if parsed.emails or parsed.uris:
        raise InvalidRequest("a kubelet serving certificate may not carry email or URI "
                             "subject alternative names")
    if not parsed.dns_names and not parsed.ip_addresses:
        raise InvalidRequest("a kubelet serving certificate needs at least one DNS or IP "
                             "subject alternative name")
    _check_usages(requested, SERVING_USAGES, "server auth")


def validate_api_client(parsed: ParsedCSR, requested: list[str]) -> None:
    _check_usages(requested, CLIENT_USAGES, "client auth")


VALIDATORS = {KUBELET_CLIENT_SIGNER: validate_kubelet_client,
              KUBELET_SERVING_SIGNER: validate_kubelet_serving,
              API_CLIENT_SIGNER: validate_api_client}


def has_condition(csr: Mapping[str, Any], kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status", "True") == "True"
               for c in status(csr).get("conditions") or [] if isinstance(c, dict))


def is_decided(csr: Mapping[str, Any]) -> bool:
    return has_condition(csr, "Approved") or has_condition(csr, "Denied")
