"""The EncryptionConfiguration `kubeadmpy init` writes when `secretsEncryption.enabled` is set.

One resource entry: the configured resources, the chosen provider with one key, then
`identity: {}` so that values stored in plaintext before encryption was enabled still read.
The file holds the only copy of the key: losing or replacing it makes every encrypted value
unreadable, which is why the init phase never overwrites one (`kubeadmpy.phases.encryption`).
The rendered file is parsed back with the API server's own parser
(`kubeadmpy.security.encryption_config`), so init cannot write a file the server would refuse.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

import yaml

from kubeadmpy.errors import ConfigError
from kubeadmpy.paths import KUBERNETES_DIR
from kubeadmpy.render.environment import RenderedFile, RenderError, render_template
from kubeadmpy.render.quoting import load_yaml

ENCRYPTION_DIR = KUBERNETES_DIR / "encryption"
ENCRYPTION_CONFIG = ENCRYPTION_DIR / "config.yaml"
ENCRYPTION_CONFIG_MODE = 0o600
ENCRYPTION_DIR_MODE = 0o700
KEY_NAME = "key1"  # the name upstream's documentation uses; it is part of every stored value
KEY_BYTES = 32  # valid for all three providers (AES-256, XSalsa20-Poly1305)


@dataclass(frozen=True)
class EncryptionValues:
    """What the file is made of: provider, resources, and the raw key."""

    provider: str  # aescbc | aesgcm | secretbox
    resources: tuple[str, ...]
    key: bytes


def new_encryption_key() -> bytes:
    """A fresh key from the operating system's CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def render_encryption_config(values: EncryptionValues) -> RenderedFile:
    """The EncryptionConfiguration, parsed back and checked; mode 0600 (it holds the key)."""
    content = render_template(
        "kubernetes/encryption-config.yaml.j2",
        provider=values.provider,
        resources=list(values.resources),
        key_name=KEY_NAME,
        secret=base64.b64encode(values.key).decode(),
    )
    check_encryption_config(content, values)
    return RenderedFile(content, ENCRYPTION_CONFIG_MODE)


def check_encryption_config(content: str, values: EncryptionValues) -> None:
    """Parse `content` as the API server would and check it says what `values` say."""
    # Imported here: the kubeadmpy.security package pulls in the API server's security stack,
    # ~40 ms that every other kubeadmpy command would pay at start.
    from kubeadmpy.security import encryption_config

    try:
        document: Any = load_yaml(content)
        parsed = encryption_config.parse(document, str(ENCRYPTION_CONFIG))
    except (yaml.YAMLError, ConfigError) as exc:
        raise RenderError(f"{ENCRYPTION_CONFIG} did not parse back: {exc}") from exc
    if len(parsed.entries) != 1:
        raise RenderError(f"{ENCRYPTION_CONFIG} has {len(parsed.entries)} resource entries, not 1")
    entry = parsed.entries[0]
    expected = (values.resources, (values.provider, ((KEY_NAME, values.key),)), "identity")
    writer, *readers = entry.providers
    found = (entry.resources, (writer.kind, tuple((k.name, k.secret) for k in writer.keys)),
             ",".join(p.kind for p in readers))
    if found != expected:
        raise RenderError(f"{ENCRYPTION_CONFIG} did not parse back as computed")
