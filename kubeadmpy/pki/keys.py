"""Private keys: generation per encryptionAlgorithm and kubeadm's exact PEM encodings.

kubeadm writes RSA keys as PKCS#1 (``RSA PRIVATE KEY``) and ECDSA keys as SEC1
(``EC PRIVATE KEY``); public keys (sa.pub) as PKIX ``PUBLIC KEY``. Loading accepts only RSA and
ECDSA keys, as kubeadm does; anything else is a `PKIError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from kubeadmpy.errors import PKIError

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_CURVES: dict[str, ec.EllipticCurve] = {"ECDSA-P256": ec.SECP256R1(), "ECDSA-P384": ec.SECP384R1()}
_RSA_BITS = {"RSA-2048": 2048, "RSA-3072": 3072, "RSA-4096": 4096}


def generate_key(algorithm: str) -> PrivateKey:
    """A new private key for an `encryptionAlgorithm` value (e.g. ECDSA-P256, RSA-2048)."""
    if algorithm in _CURVES:
        return ec.generate_private_key(_CURVES[algorithm])
    if algorithm in _RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[algorithm])
    raise PKIError(f"unsupported key algorithm {algorithm!r}")


def algorithm_of(key: PublicKeyTypes) -> str:
    """The `encryptionAlgorithm` that makes keys like `key` (renewal keeps a cert's algorithm)."""
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}" if f"RSA-{key.key_size}" in _RSA_BITS else "RSA-2048"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1):
        return "ECDSA-P384"
    return "ECDSA-P256"


def signature_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384:
    """The digest Go's x509 pairs with a signing key: SHA-384 for P-384, else SHA-256."""
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384()
    return hashes.SHA256()


def private_key_pem(key: PrivateKey) -> bytes:
    """PKCS#1 for RSA, SEC1 for ECDSA, unencrypted (what kubeadm writes)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def public_key_pem(key: PublicKey) -> bytes:
    """PKIX SubjectPublicKeyInfo PEM (``PUBLIC KEY``)."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def parse_private_key(data: bytes, source: str) -> PrivateKey:
    """A PEM private key (PKCS#1, SEC1 or PKCS#8) that must be RSA or ECDSA."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise PKIError(f"{source} is not a readable unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise PKIError(f"{source} holds a {type(key).__name__}; only RSA and ECDSA are supported")
    return key


def parse_public_key(data: bytes, source: str) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise PKIError(f"{source} is not a readable PEM public key: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise PKIError(f"{source} holds a {type(key).__name__}; only RSA and ECDSA are supported")
    return key


def load_private_key(path: Path) -> PrivateKey:
    return parse_private_key(path.read_bytes(), str(path))


def same_public_key(a: PublicKeyTypes, b: PublicKeyTypes) -> bool:
    """Whether two public keys (e.g. a key file's and a certificate's) are the same key."""
    return public_key_der(a) == public_key_der(b)
