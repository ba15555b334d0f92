"""Client-certificate authentication: subject CN is the user, every O is a group.

The TLS layer asks for a certificate but does not insist (CERT_OPTIONAL), so the check that it
chains to --client-ca-file, is within its validity window and may be used for client auth is
made here, where a failure becomes a 401 with a reason rather than a refused handshake.
Only certificates issued directly by one of the CA bundle's certificates are accepted (kubeadm's
PKI has no intermediates for client certificates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubeadmpy.errors import PKIError
from kubeadmpy.security.authn import NOT_APPLICABLE, AuthResult, Credentials, failed
from kubeadmpy.security.identity import UserInfo


def load_ca_bundle(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (--client-ca-file)."""
    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise PKIError(f"--client-ca-file {path}: cannot load CA certificates: {exc}") from exc
    return certs


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class X509Authenticator:
    """Accepts client certificates signed by one of `cas`."""

    cas: Sequence[x509.Certificate]
    clock: Callable[[], dt.datetime] = _now

    def authenticate(self, credentials: Credentials) -> AuthResult:
        if not credentials.client_cert_der:
            return NOT_APPLICABLE
        try:
            cert = x509.load_der_x509_certificate(credentials.client_cert_der)
        except ValueError as exc:
            return failed(f"x509: malformed client certificate: {exc}")
        reason = self._verify(cert)
        if reason:
            return failed(f"x509: {reason}")
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        common_name = str(names[0].value) if names else ""
        if not common_name:
            return failed("x509: client certificate has no subject common name")
        groups = tuple(str(a.value)
                       for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
        return AuthResult(UserInfo(common_name, groups=groups))

    def _verify(self, cert: x509.Certificate) -> str:
        now = self.clock()
        if now < cert.not_valid_before_utc:
            return f"certificate is not valid before {cert.not_valid_before_utc.isoformat()}"
        if now > cert.not_valid_after_utc:
            return f"certificate has expired at {cert.not_valid_after_utc.isoformat()}"
        try:
            usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            usages = None
        except ValueError as exc:
            return f"unreadable extended key usage: {exc}"
        if usages is not None and ExtendedKeyUsageOID.CLIENT_AUTH not in usages \
                and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages:
            return "certificate specifies an incompatible key usage (no clientAuth)"
        issuer = cert.issuer.rfc4514_string()
        problem = f"certificate signed by unknown authority (issuer {issuer!r})"
        for ca in self.cas:
            if ca.subject != cert.issuer:
                continue
            try:
                cert.verify_directly_issued_by(ca)
            except Exception:  # InvalidSignature, or a key type that cannot sign certificates
                continue
            if ca.not_valid_before_utc <= now <= ca.not_valid_after_utc:
                return ""
            problem = f"the CA {issuer!r} that signed the certificate is not valid now"
        return problem
