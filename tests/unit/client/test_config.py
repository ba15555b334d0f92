"""kubeconfig and in-cluster credentials: the fields kubectl reads, errors naming file + field."""

from __future__ import annotations

import base64
import os
import ssl
from pathlib import Path

import pytest
import yaml

from kubeadmpy.client import load_config, load_incluster_config, load_kubeconfig
from kubeadmpy.client.component import self_signed_context
from kubeadmpy.errors import ConfigError

CA = b"-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n"


def write_kubeconfig(path: Path, user: dict[str, object], cluster: dict[str, object] | None = None,
                     contexts: int = 1) -> Path:
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": "ctx0",
        "clusters": [{"name": "c", "cluster": cluster or {
            "server": "https://127.0.0.1:6443",
            "certificate-authority-data": base64.b64encode(CA).decode()}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": f"ctx{i}", "context": {"cluster": "c", "user": "u",
                                                       "namespace": f"ns{i}"}}
                     for i in range(contexts)],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def test_embedded_ca_and_token(tmp_path: Path) -> None:
    config = load_kubeconfig(write_kubeconfig(tmp_path / "k", {"token": "abc"}))
    assert config.server == "https://127.0.0.1:6443"
    assert config.ca_pem == CA
    assert config.bearer_token() == "abc"
    assert config.namespace == "ns0"


def test_a_named_context_is_used_instead_of_the_current_one(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "k", {"token": "abc"}, contexts=2)
    assert load_kubeconfig(path, context="ctx1").namespace == "ns1"


def test_file_paths_are_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(CA)
    path = write_kubeconfig(tmp_path / "k", {"token": "t"}, {
        "server": "https://10.0.0.1:6443", "certificate-authority": "pki/ca.crt"})
    assert load_kubeconfig(path).ca_pem == CA


def test_token_file_is_read_again_when_it_rotates(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    config = load_kubeconfig(write_kubeconfig(tmp_path / "k", {"tokenFile": str(token)}))
    assert config.bearer_token() == "first"
    token.write_text("second-and-longer\n")
    assert config.bearer_token() == "second-and-longer"


def test_insecure_skip_tls_verify_turns_verification_off(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "k", {"token": "t"}, {
        "server": "https://127.0.0.1:6443", "insecure-skip-tls-verify": True})
    context = load_kubeconfig(path).ssl_context()
    assert context is not None and context.verify_mode == ssl.CERT_NONE


ERRORS = [
    ("missing file", None, "--kubeconfig"),
    ("bad base64", {"client-certificate-data": "!!!", "client-key-data": "x"},
     "client-certificate-data"),
    ("a certificate without its key", {"client-certificate-data": base64.b64encode(CA).decode()},
     "client-key"),
    ("exec plugins", {"exec": {"command": "aws"}}, "users[u].exec"),
    ("an unreadable token file", {"tokenFile": "/nonexistent/token"}, "tokenFile"),
]


@pytest.mark.parametrize(("user", "field"), [(u, f) for _, u, f in ERRORS],
                         ids=[name for name, _, _ in ERRORS])
def test_errors_name_the_field(tmp_path: Path, user: dict[str, object] | None,
                               field: str) -> None:
    path = tmp_path / "missing" if user is None else write_kubeconfig(tmp_path / "k", user)
    with pytest.raises(ConfigError) as caught:
        load_kubeconfig(path)
    assert field in str(caught.value)
    if user is not None:
        assert str(path) in str(caught.value), "the message names the file"


def test_unknown_context_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no context named 'nope'.*ctx0"):
        load_kubeconfig(write_kubeconfig(tmp_path / "k", {"token": "t"}), context="nope")


def test_incluster_credentials(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_bytes(CA)
    (tmp_path / "namespace").write_text("kube-system")
    config = load_incluster_config(tmp_path, {"KUBERNETES_SERVICE_HOST": "fd00::1",
                                              "KUBERNETES_SERVICE_PORT": "443"})
    assert config.server == "https://[fd00::1]:443"
    assert (config.bearer_token(), config.namespace, config.ca_pem) == (
        "sa-token", "kube-system", CA)
    os.utime(tmp_path / "token", ns=(0, 0))
    (tmp_path / "token").write_text("rotated")
    assert config.bearer_token() == "rotated"


def test_incluster_outside_a_pod_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST"):
        load_incluster_config(tmp_path, {})


def test_self_signed_serving_context_loads() -> None:
    assert isinstance(self_signed_context("kubeadmpy-scheduler", "127.0.0.1"), ssl.SSLContext)


def test_load_config_prefers_the_explicit_file_then_kubeconfig_env(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write_kubeconfig(tmp_path / "explicit", {"token": "explicit"})
    from_env = write_kubeconfig(tmp_path / "env", {"token": "env"})
    monkeypatch.setenv("KUBECONFIG", f"{from_env}{os.pathsep}{tmp_path / 'other'}")
    assert load_config(explicit).bearer_token() == "explicit"
    assert load_config().bearer_token() == "env"
