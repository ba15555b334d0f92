"""Encryption at rest: the EncryptionConfiguration file, stored format, rotation and refusals."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest

from kubeadmpy.errors import ConfigError
from kubeadmpy.security import encryption_config
from kubeadmpy.security.encryption import DecryptionError, EncryptionTransformers, check_readable

KEY32 = base64.b64encode(b"k" * 32).decode()
OTHER32 = base64.b64encode(b"o" * 32).decode()
KEY = b"/registry/secrets/default/db"
PLAIN = b'{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}'


def config(*providers: dict[str, Any], resources: tuple[str, ...] = ("secrets",)) -> Any:
    return encryption_config.parse({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
        "resources": [{"resources": list(resources), "providers": list(providers)}]})


def keyed(kind: str, *keys: tuple[str, str]) -> dict[str, Any]:
    return {kind: {"keys": [{"name": n, "secret": s} for n, s in keys]}}


@pytest.mark.parametrize("kind", ["aescbc", "aesgcm", "secretbox"])
def test_values_are_stored_with_upstreams_prefix_and_read_back(kind: str) -> None:
    transformer = EncryptionTransformers(config(keyed(kind, ("key1", KEY32)))).for_resource(
        "secrets")
    stored = transformer.to_storage(PLAIN, KEY)
    assert stored.startswith(f"k8s:enc:{kind}:v1:key1:".encode())
    assert PLAIN not in stored and b"aHVudGVyMg" not in stored
    assert transformer.to_storage(PLAIN, KEY) != stored  # a fresh nonce every write
    result = transformer.from_storage(stored, KEY)
    assert result.data == PLAIN and not result.stale


def test_aesgcm_binds_the_value_to_its_etcd_key() -> None:
    transformer = EncryptionTransformers(config(keyed("aesgcm", ("k", KEY32)))).for_resource(
        "secrets")
    stored = transformer.to_storage(PLAIN, KEY)
    with pytest.raises(DecryptionError, match="authentication failed"):
        transformer.from_storage(stored, b"/registry/secrets/default/other")


def test_rotation_reads_old_keys_and_marks_the_value_stale() -> None:
    old = EncryptionTransformers(config(keyed("aescbc", ("old", OTHER32)))).for_resource(
        "secrets")
    stored = old.to_storage(PLAIN, KEY)
    rotated = EncryptionTransformers(config(keyed("aesgcm", ("new", KEY32)),
                                            keyed("aescbc", ("old", OTHER32)),
                                            {"identity": {}})).for_resource("secrets")
    result = rotated.from_storage(stored, KEY)
    assert result.data == PLAIN and result.stale
    assert rotated.from_storage(b'{"plain":true}', KEY).stale  # identity still reads old data
    assert rotated.to_storage(PLAIN, KEY).startswith(b"k8s:enc:aesgcm:v1:new:")


def test_a_missing_key_refuses_to_read() -> None:
    writer = EncryptionTransformers(config(keyed("secretbox", ("gone", KEY32)))).for_resource(
        "secrets")
    stored = writer.to_storage(PLAIN, KEY)
    reader = EncryptionTransformers(config(keyed("secretbox", ("other", OTHER32)),
                                           {"identity": {}})).for_resource("secrets")
    with pytest.raises(DecryptionError, match="k8s:enc:secretbox:v1:gone"):
        reader.from_storage(stored, KEY)
    with pytest.raises(DecryptionError, match="/registry/secrets/default/db"):
        check_readable(reader, [(KEY, stored)])


def test_a_wrong_key_under_the_same_name_refuses_to_read() -> None:
    for kind in ("aescbc", "aesgcm", "secretbox"):
        writer = EncryptionTransformers(config(keyed(kind, ("k", KEY32)))).for_resource("secrets")
        reader = EncryptionTransformers(config(keyed(kind, ("k", OTHER32)))).for_resource(
            "secrets")
        stored = writer.to_storage(PLAIN * 3, KEY)
        try:
            data = reader.from_storage(stored, KEY).data
        except DecryptionError:
            continue
        # CBC has no authentication; a wrong key that happens to unpad yields garbage, never
        # the plain text
        assert kind == "aescbc" and data != PLAIN * 3


def test_unencrypted_resources_and_plain_values() -> None:
    transformers = EncryptionTransformers(config(keyed("aesgcm", ("k", KEY32))))
    assert not transformers.for_resource("configmaps").encrypts
    assert transformers.for_resource("configmaps").to_storage(PLAIN, KEY) == PLAIN
    assert EncryptionTransformers(None).for_resource("secrets").from_storage(PLAIN, KEY).data \
        == PLAIN
    with pytest.raises(DecryptionError, match="no identity provider"):
        transformers.for_resource("secrets").from_storage(PLAIN, KEY)


def test_identity_first_never_serves_ciphertext_as_data() -> None:
    encrypted = EncryptionTransformers(config(keyed("aesgcm", ("k", KEY32)))).for_resource(
        "secrets").to_storage(PLAIN, KEY)
    identity_only = EncryptionTransformers(config({"identity": {}})).for_resource("secrets")
    with pytest.raises(DecryptionError):
        identity_only.from_storage(encrypted, KEY)
    decrypting = EncryptionTransformers(config({"identity": {}}, keyed("aesgcm", ("k", KEY32))))
    assert decrypting.for_resource("secrets").from_storage(encrypted, KEY).data == PLAIN


@pytest.mark.parametrize(("pattern", "resource", "matches"), [
    ("secrets", "secrets", True), ("secrets", "configmaps", False),
    ("deployments.apps", "deployments.apps", True), ("deployments.apps", "deployments", False),
    ("*.apps", "statefulsets.apps", True), ("*.apps", "secrets", False),
    ("*.", "secrets", True), ("*.", "deployments.apps", False), ("*.*", "anything.x.io", True),
])
def test_resource_patterns(pattern: str, resource: str, matches: bool) -> None:
    assert encryption_config.matches(pattern, resource) is matches


def test_the_first_entry_naming_a_resource_wins() -> None:
    cfg = encryption_config.parse({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
        "resources": [{"resources": ["secrets"], "providers": [{"identity": {}}]},
                      {"resources": ["*.*"], "providers": [keyed("aesgcm", ("k", KEY32))]}]})
    transformers = EncryptionTransformers(cfg)
    assert not transformers.for_resource("secrets").encrypts
    assert transformers.for_resource("configmaps").encrypts


BAD_CONFIGS = [
    ("a key that is not base64", [keyed("aescbc", ("k", "not base64!"))],
     "providers[0].aescbc.keys[0].secret", "not valid base64"),
    ("a key of the wrong length", [keyed("aesgcm", ("k", base64.b64encode(b"x" * 20).decode()))],
     "providers[0].aesgcm.keys[0].secret", "20 bytes"),
    ("a 16-byte secretbox key", [keyed("secretbox", ("k", base64.b64encode(b"x" * 16).decode()))],
     "providers[0].secretbox.keys[0].secret", "secretbox needs 32"),
    ("a key without a name", [keyed("aescbc", ("", KEY32))], "keys[0].name", "not a key name"),
    ("two keys with one name", [keyed("aescbc", ("k", KEY32), ("k", OTHER32))], "keys[1].name",
     "used twice"),
    ("two providers in one element", [{"identity": {}, **keyed("aescbc", ("k", KEY32))}],
     "providers[0]", "exactly one provider"),
    ("an unsupported provider", [{"kms": {"name": "x"}}], "providers[0].kms", "not a supported"),
    ("no providers", [], "resources[0].providers", "non-empty"),
]


@pytest.mark.parametrize(("providers", "field", "problem"), [c[1:] for c in BAD_CONFIGS],
                         ids=[f"refuses {c[0]}" for c in BAD_CONFIGS])
def test_bad_configurations_name_the_field(providers: list[Any], field: str,
                                           problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(*providers)
    assert field in caught.value.field
    assert problem in caught.value.problem


def test_loading_a_file(tmp_path: Any) -> None:
    path = tmp_path / "enc.yaml"
    path.write_text(f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: {KEY32}
      - identity: {{}}
""")
    cfg = encryption_config.load(path)
    assert cfg.entries[0].providers[0].keys[0].secret == b"k" * 32
    path.write_text("kind: Nope")
    with pytest.raises(ConfigError, match=str(path)):
        encryption_config.load(path)
    with pytest.raises(ConfigError, match="cannot read"):
        encryption_config.load(tmp_path / "missing.yaml")


def test_random_bytes_never_decrypt_into_data() -> None:
    transformer = EncryptionTransformers(config(keyed("aesgcm", ("k", KEY32)),
                                                keyed("secretbox", ("s", KEY32)))).for_resource(
        "secrets")
    for prefix in (b"k8s:enc:aesgcm:v1:k:", b"k8s:enc:secretbox:v1:s:", b"k8s:enc:x:"):
        for size in (0, 5, 40, 100):
            with pytest.raises(DecryptionError):
                transformer.from_storage(prefix + os.urandom(size), KEY)
