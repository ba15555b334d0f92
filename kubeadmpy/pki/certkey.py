"""Small crypto helpers other phases need: the CA pin, and the upload-certs encryption.

`ca_cert_hash` is the value of `--discovery-token-ca-cert-hash` (SHA-256 of the CA's DER
SubjectPublicKeyInfo). The certificate key (`--certificate-key`) is 32 random bytes in hex, used
as an AES-256-GCM key; each value is sealed with a fresh 12-byte nonce prepended, no associated
data — the layout kubeadm uses for the `kubeadm-certs` Secret.
"""

from __future__ import annotations

import hashlib
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kubeadmpy.errors import PKIError, UserInputError
from kubeadmpy.pki import keys
from kubeadmpy.pki.certs import parse_cert

CERTIFICATE_KEY_BYTES = 32
NONCE_BYTES = 12


def ca_cert_hash(cert_pem: bytes) -> str:
    """``sha256:<hex>`` of the certificate's public key, as kubeadm's join command pins it."""
    cert = parse_cert(cert_pem, "the CA certificate")
    return "sha256:" + hashlib.sha256(keys.public_key_der(cert.public_key())).hexdigest()


def certificate_key() -> str:
    """A fresh certificate key: 64 lower-case hex characters."""
    return secrets.token_hex(CERTIFICATE_KEY_BYTES)


def _aes_key(certificate_key_hex: str) -> AESGCM:
    try:
        raw = bytes.fromhex(certificate_key_hex)
    except ValueError:
        raw = b""
    if len(raw) != CERTIFICATE_KEY_BYTES:
        raise UserInputError(
            "--certificate-key",
            f"expected {2 * CERTIFICATE_KEY_BYTES} hex characters, got "
            f"{len(certificate_key_hex)} characters",
            "Use the key printed by `kubeadmpy init --upload-certs` or "
            "`kubeadmpy certs certificate-key`",
        )
    return AESGCM(raw)


def encrypt_with_certificate_key(plaintext: bytes, certificate_key_hex: str) -> bytes:
    """``nonce || AES-GCM seal(plaintext)`` with a random 12-byte nonce."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + _aes_key(certificate_key_hex).encrypt(nonce, plaintext, None)


def decrypt_with_certificate_key(sealed: bytes, certificate_key_hex: str) -> bytes:
    """The inverse of `encrypt_with_certificate_key`; a wrong key is a clear `PKIError`."""
    aes = _aes_key(certificate_key_hex)
    if len(sealed) < NONCE_BYTES + 16:
        raise PKIError("the encrypted data is too short to hold a nonce and a GCM tag")
    try:
        return aes.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], None)
    except InvalidTag as exc:
        raise PKIError(
            "cannot decrypt the shared certificates: message authentication failed (wrong "
            "--certificate-key, or the data was changed); re-run `kubeadmpy init phase "
            "upload-certs --upload-certs` on a control-plane node and use the key it prints"
        ) from exc
