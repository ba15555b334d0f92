"""Issuing certificates for approved CSRs with the cluster CA (--cluster-signing-*-file).

Facts from upstream's csrsigning controller: the certificate keeps the request's subject and
SANs; key usage and extended key usage come from `spec.usages` only (extensions inside the
request are ignored); it is never a CA; it is valid from 5 minutes before signing (clock skew)
for --cluster-signing-duration (365 days), or `spec.expirationSeconds` when that is shorter
(never under 10 minutes), and never beyond the CA's own expiry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from kubeadmpy.errors import ConfigError
from kubeadmpy.pki.certs import random_serial
from kubeadmpy.pki.keys import PrivateKey, parse_private_key, same_public_key, signature_hash

BACKDATE = dt.timedelta(minutes=5)
MIN_DURATION = dt.timedelta(minutes=10)

_KEY_USAGES = {"digital signature": "digital_signature",
               "content commitment": "content_commitment",
               "key encipherment": "key_encipherment", "key agreement": "key_agreement",
               "data encipherment": "data_encipherment", "cert sign": "key_cert_sign",
               "crl sign": "crl_sign", "encipher only": "encipher_only",
               "decipher only": "decipher_only"}
_EXTENDED_USAGES = {"server auth": ExtendedKeyUsageOID.SERVER_AUTH,
                    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
                    "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
                    "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
                    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
                    "ocsp signing": ExtendedKeyUsageOID.OCSP_SIGNING,
                    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}


@dataclass(frozen=True)
class SigningCA:
    certificate: x509.Certificate
    key: PrivateKey


def load_signing_ca(cert_file: Path, key_file: Path) -> SigningCA:
    """The CA from --cluster-signing-cert-file/--cluster-signing-key-file, checked to match."""
    loaded = []
    for flag, path in (("--cluster-signing-cert-file", cert_file),
                       ("--cluster-signing-key-file", key_file)):
        try:
            loaded.append(path.read_bytes())
        except OSError as exc:
            raise ConfigError(flag, f"cannot read {str(path)!r}: {exc.strerror}",
                              "Point it at the cluster CA (kubeadm: /etc/kubernetes/pki/ca.crt "
                              "and ca.key)") from exc
    try:
        certificate = x509.load_pem_x509_certificate(loaded[0])
    except ValueError as exc:
        raise ConfigError("--cluster-signing-cert-file", f"{str(cert_file)!r} is not a PEM "
                          "certificate", "Give the CA certificate file") from exc
    key = parse_private_key(loaded[1], str(key_file))
    if not same_public_key(certificate.public_key(), key.public_key()):
        raise ConfigError("--cluster-signing-key-file", f"{str(key_file)!r} is not the key of "
                          f"{str(cert_file)!r}", "Give the CA's own key")
    return SigningCA(certificate, key)


def certificate_duration(signing_duration: dt.timedelta, expiration_seconds: object
                         ) -> dt.timedelta:
    if not isinstance(expiration_seconds, int) or isinstance(expiration_seconds, bool):
        return signing_duration
    requested = dt.timedelta(seconds=expiration_seconds)
    return max(MIN_DURATION, min(requested, signing_duration))


def _key_usage(names: list[str]) -> x509.KeyUsage | None:
    flags = {attr: False for attr in _KEY_USAGES.values()}
    for name in names:
        if name in _KEY_USAGES:
            flags[_KEY_USAGES[name]] = True
    if not any(flags.values()):
        return None
    return x509.KeyUsage(**flags)


def sign(ca: SigningCA, request: x509.CertificateSigningRequest, usages: list[str],
         duration: dt.timedelta, now: dt.datetime) -> bytes:
    """The PEM certificate for `request`."""
    not_after = min(now + duration, ca.certificate.not_valid_after_utc)
    builder = (x509.CertificateBuilder()
               .subject_name(request.subject)
               .issuer_name(ca.certificate.subject)
               .public_key(request.public_key())
               .serial_number(random_serial())
               .not_valid_before(now - BACKDATE)
               .not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca.key.public_key()), critical=False))
    key_usage = _key_usage(usages)
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    extended = [_EXTENDED_USAGES[u] for u in usages if u in _EXTENDED_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    try:
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        builder = builder.add_extension(sans, critical=False)
    except x509.ExtensionNotFound:
        pass
    certificate = builder.sign(ca.key, signature_hash(ca.key))
    return certificate.public_bytes(serialization.Encoding.PEM)
