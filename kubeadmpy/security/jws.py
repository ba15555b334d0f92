"""Compact JWS (RFC 7515) signing and verification for service-account tokens.

Only what kube-apiserver uses: RS256 for RSA keys and ES256/ES384/ES512 for the matching EC
curves, a header of `alg` and `kid`, and the key id upstream derives (base64url of the SHA-256
of the DER SubjectPublicKeyInfo) so tokens and /openid/v1/jwks agree with upstream tooling.
Written on `cryptography` directly: the format is small and a JWT library would add a
dependency for a few dozen lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from kubeadmpy.errors import PKIError

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)
MAX_TOKEN_BYTES = 64 * 1024  # larger "tokens" are refused before any parsing
_EC_ALGORITHMS = {"secp256r1": ("ES256", hashes.SHA256(), 32),
                  "secp384r1": ("ES384", hashes.SHA384(), 48),
                  "secp521r1": ("ES512", hashes.SHA512(), 66)}

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class JWSError(Exception):
    """A token that is not a well-formed JWS signed by a known key (the message says why)."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    if any(c in text for c in "=+/ \n"):
        raise JWSError("not base64url (padding or standard alphabet)")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JWSError(f"not base64url: {exc}") from exc


def key_id(public_key: PublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64url_encode(hashlib.sha256(der).digest())


def algorithm_of(public_key: PublicKey) -> str:
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RS256"
    name = public_key.curve.name
    if name not in _EC_ALGORITHMS:
        raise JWSError(f"unsupported elliptic curve {name}")
    return _EC_ALGORITHMS[name][0]


def load_signing_key(path: Path) -> PrivateKey:
    """--service-account-signing-key-file: a PEM RSA or EC private key."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise PKIError(f"--service-account-signing-key-file {path}: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise PKIError(f"--service-account-signing-key-file {path}: only RSA and EC keys sign "
                       "service-account tokens")
    return key


def load_verification_keys(path: Path) -> list[PublicKey]:
    """--service-account-key-file: PEM public keys, or a private key whose public half is used."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PKIError(f"--service-account-key-file {path}: {exc}") from exc
    keys: list[PublicKey] = []
    for match in _PEM_BLOCK.finditer(data):
        label = match.group(1)
        if b"CERTIFICATE" in label:
            continue
        try:
            if b"PRIVATE" in label:
                candidate: Any = serialization.load_pem_private_key(match.group(0),
                                                                    None).public_key()
            else:
                candidate = serialization.load_pem_public_key(match.group(0))
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise PKIError(f"--service-account-key-file {path}: {exc}") from exc
        if isinstance(candidate, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            keys.append(candidate)
    if not keys:
        raise PKIError(f"--service-account-key-file {path}: no RSA or EC public key found")
    return keys


def sign(claims: Mapping[str, Any], key: PrivateKey) -> str:
    public = key.public_key()
    alg = algorithm_of(public)
    header = {"alg": alg, "kid": key_id(public)}
    signing_input = (b64url_encode(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64url_encode(json.dumps(claims, separators=(",", ":")).encode()))
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    else:
        _, digest, size = _EC_ALGORITHMS[key.curve.name]
        r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(digest)))
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return signing_input + "." + b64url_encode(signature)


@dataclass(frozen=True)
class UnverifiedToken:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse(token: str) -> UnverifiedToken:
    """Split and decode a compact JWS without checking the signature."""
    if len(token) > MAX_TOKEN_BYTES:
        raise JWSError("token too large")
    parts = token.split(".")
    if len(parts) != 3:
        raise JWSError("not a compact JWS (want three dot-separated parts)")
    header = _json_object(b64url_decode(parts[0]), "header")
    claims = _json_object(b64url_decode(parts[1]), "payload")
    return UnverifiedToken(header, claims, f"{parts[0]}.{parts[1]}".encode(),
                           b64url_decode(parts[2]))


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise JWSError(f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise JWSError(f"{what} is not a JSON object")
    return value


def verify(token: UnverifiedToken, keys: Sequence[PublicKey]) -> None:
    """Raise JWSError unless one of `keys` made the signature with the header's algorithm."""
    alg = token.header.get("alg")
    if not isinstance(alg, str) or alg not in ("RS256", "ES256", "ES384", "ES512"):
        raise JWSError(f"unsupported signing algorithm {alg!r}")
    for key in keys:
        if algorithm_of(key) != alg:
            continue
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(token.signature, token.signing_input, padding.PKCS1v15(),
                           hashes.SHA256())
            else:
                _, digest, size = _EC_ALGORITHMS[key.curve.name]
                if len(token.signature) != 2 * size:
                    continue
                r = int.from_bytes(token.signature[:size], "big")
                s = int.from_bytes(token.signature[size:], "big")
                key.verify(encode_dss_signature(r, s), token.signing_input, ec.ECDSA(digest))
        except (InvalidSignature, ValueError):
            continue
        return
    raise JWSError("signature does not verify with any service-account key")


def jwks(keys: Sequence[PublicKey]) -> dict[str, Any]:
    """The /openid/v1/jwks document for the verification keys."""
    out = []
    for key in keys:
        entry: dict[str, Any] = {"use": "sig", "kid": key_id(key), "alg": algorithm_of(key)}
        if isinstance(key, rsa.RSAPublicKey):
            numbers = key.public_numbers()
            entry |= {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
        else:
            size = _EC_ALGORITHMS[key.curve.name][2]
            point = key.public_numbers()
            entry |= {"kty": "EC", "crv": "P-" + {32: "256", 48: "384", 66: "521"}[size],
                      "x": b64url_encode(point.x.to_bytes(size, "big")),
                      "y": b64url_encode(point.y.to_bytes(size, "big"))}
        out.append(entry)
    return {"keys": out}


def openid_configuration(issuer: str, jwks_uri: str,
                         keys: Sequence[PublicKey]) -> dict[str, Any]:
    """The /.well-known/openid-configuration document kube-apiserver serves for its issuer."""
    algorithms = sorted({algorithm_of(k) for k in keys})
    return {"issuer": issuer, "jwks_uri": jwks_uri, "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": algorithms}


def _uint(value: int) -> str:
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))
