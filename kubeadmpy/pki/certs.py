"""X.509 building blocks: self-signed CAs, CA-signed leaf certificates, and reading them back.

Shapes follow kubeadm: CAs are backdated by five minutes and carry their CN as a DNS SAN; leaves
inherit the CA's NotBefore, have CA:FALSE, at least one extended key usage and a random serial
in [1, 2^63-1). Key usage is digitalSignature (+certSign on CAs), plus keyEncipherment for RSA
keys only: RFC 5480 forbids it for ECDSA keys, and no Kubernetes client relies on it.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubeadmpy.errors import PKIError
from kubeadmpy.pki.keys import PrivateKey, PublicKey, signature_hash
from kubeadmpy.pki.settings import IPAddress

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CA_BACKDATE = timedelta(minutes=5)
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
_USAGE_NAMES = {SERVER_AUTH: "serverAuth", CLIENT_AUTH: "clientAuth"}


def usage_name(usage: x509.ObjectIdentifier) -> str:
    """OpenSSL's short name for an extended key usage (its dotted OID when unknown)."""
    return _USAGE_NAMES.get(usage, usage.dotted_string)


@dataclass(frozen=True)
class AltNames:
    """Subject alternative names: DNS names sorted and unique, IPs unique in first-seen order."""

    dns_names: tuple[str, ...] = ()
    ips: tuple[IPAddress, ...] = ()

    @classmethod
    def of(cls, dns_names: Sequence[str], ips: Sequence[IPAddress]) -> AltNames:
        return cls(tuple(sorted(set(dns_names))), tuple(dict.fromkeys(ips)))

    def __bool__(self) -> bool:
        return bool(self.dns_names or self.ips)

    def missing_from(self, other: AltNames) -> list[str]:
        """Names of self that `other` lacks, as text."""
        missing = [name for name in self.dns_names if name not in other.dns_names]
        missing += [str(ip) for ip in self.ips if ip not in other.ips]
        return missing

    def describe(self) -> str:
        """kubeadm's wording: ``DNS names [a b] and IPs [10.96.0.1 ::1]``."""
        return f"DNS names [{' '.join(self.dns_names)}] and IPs [{' '.join(map(str, self.ips))}]"


@dataclass(frozen=True)
class CertRequest:
    """What a leaf certificate says about its holder."""

    common_name: str
    organizations: tuple[str, ...] = ()
    alt_names: AltNames = field(default_factory=AltNames)
    usages: tuple[x509.ObjectIdentifier, ...] = (CLIENT_AUTH,)


def _subject(common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    # Go's pkix.Name puts O before CN; kubectl and the apiserver read both by OID.
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key_usage(key: PublicKey | PrivateKey, *, ca: bool) -> x509.KeyUsage:
    rsa_key = isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey)
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=rsa_key,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def random_serial() -> int:
    return secrets.randbelow(2**63 - 2) + 1


def _san_extension(alt_names: AltNames) -> x509.SubjectAlternativeName:
    general: list[x509.GeneralName] = [x509.DNSName(name) for name in alt_names.dns_names]
    general += [x509.IPAddress(ip) for ip in alt_names.ips]
    return x509.SubjectAlternativeName(general)


def create_ca(
    common_name: str, key: PrivateKey, validity: timedelta, now: datetime | None = None
) -> x509.Certificate:
    """A self-signed CA certificate for `key`, valid from five minutes before `now`."""
    now = now or datetime.now(UTC)
    subject = _subject(common_name)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(random_serial())
        .not_valid_before(now - CA_BACKDATE)
        .not_valid_after(now - CA_BACKDATE + validity)
        .add_extension(_key_usage(key, ca=True), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_san_extension(AltNames((common_name,))), critical=False)
        .sign(key, signature_hash(key))
    )


def sign_cert(
    request: CertRequest,
    public_key: PublicKey,
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    validity: timedelta,
    now: datetime | None = None,
) -> x509.Certificate:
    """A leaf certificate for `public_key`, signed by the CA, valid until `now + validity`."""
    if not request.common_name:
        raise PKIError("a certificate needs a non-empty common name")
    if not request.usages:
        raise PKIError(f"certificate {request.common_name!r} needs an extended key usage")
    now = now or datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_subject(request.common_name, request.organizations))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(random_serial())
        .not_valid_before(ca_cert.not_valid_before_utc)
        .not_valid_after(now + validity)
        .add_extension(_key_usage(public_key, ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(request.usages)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if request.alt_names:
        builder = builder.add_extension(_san_extension(request.alt_names), critical=False)
    return builder.sign(ca_key, signature_hash(ca_key))


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.PEM)


def parse_cert(data: bytes, source: str) -> x509.Certificate:
    """The first certificate of a PEM file (kubeadm reads the first one, too)."""
    try:
        return x509.load_pem_x509_certificates(data)[0]
    except ValueError as exc:
        raise PKIError(f"{source} is not a readable PEM certificate: {exc}") from exc


def load_cert(path: Path) -> x509.Certificate:
    return parse_cert(path.read_bytes(), str(path))


def is_signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca


def alt_names_of(cert: x509.Certificate) -> AltNames:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return AltNames()
    ips: list[IPAddress] = [
        ip for ip in sans.get_values_for_type(x509.IPAddress) if not isinstance(ip, IPNetwork)
    ]
    return AltNames.of(sans.get_values_for_type(x509.DNSName), ips)


def usages_of(cert: x509.Certificate) -> tuple[x509.ObjectIdentifier, ...]:
    try:
        return tuple(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return ()


def common_name_of(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def organizations_of(cert: x509.Certificate) -> tuple[str, ...]:
    return tuple(
        str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    )


def request_from_cert(cert: x509.Certificate) -> CertRequest:
    """The request that reproduces `cert`'s holder (renewal keeps CN, O, SANs and usages)."""
    return CertRequest(
        common_name_of(cert), organizations_of(cert), alt_names_of(cert), usages_of(cert)
    )
