"""Encryption at rest against a real etcd: ciphertext in etcd, round trip, refusal without key."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from security_etcd import Etcd

from kubeadmpy.errors import ConfigError
from kubeadmpy.security import encryption_config
from kubeadmpy.security.encryption import DecryptionError, EncryptionTransformers, check_readable

SECRET = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
          "metadata": {"name": "db", "namespace": "default"},
          "data": {"password": base64.b64encode(b"correct horse battery staple").decode()}}


def write_config(path: Path, provider: str, key_name: str, key: bytes) -> Path:
    path.write_text(f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - {provider}:
          keys:
            - name: {key_name}
              secret: {base64.b64encode(key).decode()}
      - identity: {{}}
""")
    return path


@pytest.mark.parametrize("provider", ["aescbc", "aesgcm", "secretbox"])
def test_a_secret_in_etcd_is_ciphertext_and_reads_back(etcd: Etcd, tmp_path: Path,
                                                       provider: str) -> None:
    key = os.urandom(32)
    config = encryption_config.load(write_config(tmp_path / "enc.yaml", provider, "key1", key))
    transformer = EncryptionTransformers(config).for_resource("secrets")
    storage_key = f"/registry/secrets/default/db-{provider}"
    plain = json.dumps(SECRET).encode()
    etcd.put(storage_key.encode(), transformer.to_storage(plain, storage_key.encode()))

    shown = etcd.etcdctl_get(storage_key)
    assert f"k8s:enc:{provider}:v1:key1:".encode() in shown
    assert b"Secret" not in shown and SECRET["data"]["password"].encode() not in shown

    stored = etcd.get(storage_key.encode())
    assert stored is not None
    assert json.loads(transformer.from_storage(stored, storage_key.encode()).data) == SECRET

    # a server restarted with a configuration that lacks the key refuses to start
    other = encryption_config.load(write_config(tmp_path / "other.yaml", provider, "key2",
                                                os.urandom(32)))
    reader = EncryptionTransformers(other).for_resource("secrets")
    with pytest.raises(DecryptionError, match=storage_key):
        check_readable(reader, etcd.items(storage_key.encode()))


def test_a_wrong_key_under_the_same_name_refuses(etcd: Etcd, tmp_path: Path) -> None:
    config = encryption_config.load(write_config(tmp_path / "a.yaml", "aesgcm", "k",
                                                 os.urandom(32)))
    storage_key = b"/registry/secrets/kube-system/wrong-key"
    etcd.put(storage_key, EncryptionTransformers(config).for_resource("secrets").to_storage(
        json.dumps(SECRET).encode(), storage_key))
    wrong = encryption_config.load(write_config(tmp_path / "b.yaml", "aesgcm", "k",
                                                os.urandom(32)))
    stored = etcd.get(storage_key)
    assert stored is not None
    with pytest.raises(DecryptionError, match="authentication failed"):
        EncryptionTransformers(wrong).for_resource("secrets").from_storage(stored, storage_key)


def test_a_configuration_with_an_undecodable_key_refuses_to_load(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(write_config(tmp_path / "bad.yaml", "aescbc", "k", b"x" * 32).read_text()
                    .replace(base64.b64encode(b"x" * 32).decode(), "not*base64*at*all"))
    with pytest.raises(ConfigError) as caught:
        encryption_config.load(path)
    assert caught.value.field == "resources[0].providers[0].aescbc.keys[0].secret"
    assert str(path) in str(caught.value)
