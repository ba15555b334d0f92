"""Encryption at rest: value transformers with upstream's stored format.

A stored value is `k8s:enc:<provider>:v1:<key name>:` followed by the provider's payload:
- aescbc: 16-byte IV + AES-CBC ciphertext with PKCS#7 padding (no authentication);
- aesgcm: 12-byte nonce + AES-GCM ciphertext and tag, authenticated with the etcd key;
- secretbox: 24-byte nonce + XSalsa20-Poly1305 box (PyNaCl);
- identity: the plain value, no prefix.
Writing uses the first provider's first key. Reading picks the transformer whose prefix the
value carries (identity takes what carries none); a value that none can read is a
`DecryptionError`, so the server fails the request (or refuses to start) instead of serving
ciphertext or garbage as data.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import nacl.exceptions
import nacl.secret
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.security.encryption_config import (
    EncryptionConfiguration,
    Provider,
    providers_for,
)

ENCRYPTED_PREFIX = b"k8s:enc:"


class DecryptionError(KubeadmpyError):
    """Stored data that no configured provider can read (wrong or missing key, corruption)."""


class ValueCipher(Protocol):
    def seal(self, plaintext: bytes, context: bytes) -> bytes: ...

    def open(self, payload: bytes, context: bytes) -> bytes: ...


class _AESCBC:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        iv = os.urandom(16)
        padder = padding.PKCS7(128).padder()
        data = padder.update(plaintext) + padder.finalize()
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(iv)).encryptor()
        return iv + encryptor.update(data) + encryptor.finalize()

    def open(self, payload: bytes, context: bytes) -> bytes:
        if len(payload) < 32:
            raise DecryptionError("the stored data was shorter than the required size")
        if len(payload) % 16:
            raise DecryptionError("the stored data is not a multiple of the block size")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(payload[:16])).decryptor()
        data = decryptor.update(payload[16:]) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(data) + unpadder.finalize()
        except ValueError as exc:
            raise DecryptionError("invalid PKCS7 data (wrong key or corrupt value)") from exc


class _AESGCM:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, payload: bytes, context: bytes) -> bytes:
        if len(payload) < 12 + 16:
            raise DecryptionError("the stored data was shorter than the required size")
        try:
            return self._aead.decrypt(payload[:12], payload[12:], context)
        except InvalidTag as exc:
            raise DecryptionError("message authentication failed (wrong key, or data "
                                  "moved from another key)") from exc


class _SecretBox:
    def __init__(self, key: bytes) -> None:
        self._box = nacl.secret.SecretBox(key)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        return bytes(self._box.encrypt(plaintext))

    def open(self, payload: bytes, context: bytes) -> bytes:
        if len(payload) < nacl.secret.SecretBox.NONCE_SIZE + nacl.secret.SecretBox.MACBYTES:
            raise DecryptionError("the stored data was shorter than the required size")
        try:
            return bytes(self._box.decrypt(payload))
        except nacl.exceptions.CryptoError as exc:
            raise DecryptionError("output array was not large enough for encryption or "
                                  "message authentication failed") from exc


_CIPHERS: dict[str, type[_AESCBC] | type[_AESGCM] | type[_SecretBox]] = {
    "aescbc": _AESCBC, "aesgcm": _AESGCM, "secretbox": _SecretBox}


@dataclass(frozen=True)
class PrefixedCipher:
    prefix: bytes  # b"" for identity
    cipher: ValueCipher | None  # None for identity


def prefixed_ciphers(providers: Iterable[Provider]) -> list[PrefixedCipher]:
    out: list[PrefixedCipher] = []
    for provider in providers:
        if provider.kind == "identity":
            out.append(PrefixedCipher(b"", None))
            continue
        for key in provider.keys:
            prefix = f"k8s:enc:{provider.kind}:v1:{key.name}:".encode()
            out.append(PrefixedCipher(prefix, _CIPHERS[provider.kind](key.secret)))
    return out


@dataclass(frozen=True)
class ReadResult:
    data: bytes
    stale: bool  # written with a provider/key that is no longer the first: rewrite it


class ValueTransformer:
    """Transforms one resource's values between the API and etcd."""

    def __init__(self, ciphers: Sequence[PrefixedCipher]) -> None:
        if not ciphers:
            raise ValueError("a transformer needs at least one provider")
        self._ciphers = list(ciphers)

    @property
    def encrypts(self) -> bool:
        return self._ciphers[0].cipher is not None

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        first = self._ciphers[0]
        if first.cipher is None:
            return data
        return first.prefix + first.cipher.seal(data, context)

    def from_storage(self, data: bytes, context: bytes) -> ReadResult:
        for index, entry in enumerate(self._ciphers):
            if entry.cipher is None:
                if data.startswith(ENCRYPTED_PREFIX):
                    continue  # identity must not pass encrypted bytes off as data
                return ReadResult(data, index != 0)
            if data.startswith(entry.prefix):
                plain = entry.cipher.open(data[len(entry.prefix):], context)
                return ReadResult(plain, index != 0)
        if data.startswith(ENCRYPTED_PREFIX):
            head = data[:64].split(b":")[:5]
            named = b":".join(head).decode(errors="replace")
            raise DecryptionError(f"no configured provider can decrypt data stored as "
                                  f"{named!r} (is the key that wrote it missing from the "
                                  "encryption configuration?)")
        raise DecryptionError("data is stored unencrypted but the configuration has no "
                              "identity provider to read it")


IDENTITY = ValueTransformer([PrefixedCipher(b"", None)])


class EncryptionTransformers:
    """One ValueTransformer per resource, built from an EncryptionConfiguration."""

    def __init__(self, config: EncryptionConfiguration | None) -> None:
        self._config = config
        self._cache: dict[str, ValueTransformer] = {}

    def for_resource(self, group_resource: str) -> ValueTransformer:
        """The transformer for `resource` (core) or `resource.group`."""
        if self._config is None:
            return IDENTITY
        found = self._cache.get(group_resource)
        if found is None:
            found = ValueTransformer(prefixed_ciphers(providers_for(self._config,
                                                                    group_resource)))
            self._cache[group_resource] = found
        return found


def check_readable(transformer: ValueTransformer,
                   stored: Iterable[tuple[bytes, bytes]]) -> None:
    """Raise DecryptionError naming the first (key, value) pair that cannot be read.

    The server calls this at start over every stored value of an encrypted resource, to refuse
    to start rather than serve requests it would fail (or garbage).
    """
    for key, value in stored:
        try:
            transformer.from_storage(value, key)
        except DecryptionError as exc:
            raise DecryptionError(f"{key.decode(errors='replace')}: {exc}") from exc
