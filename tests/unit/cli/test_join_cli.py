"""`kubeadmpy join` flags as a user types them: help, and every bad input named, nothing written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

TOKEN = "abcdef.0123456789abcdef"
PIN = "sha256:" + "ab" * 32
ENDPOINT = "127.0.0.1:1"  # nothing listens: a test that got this far would fail differently


def kubeadmpy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubeadmpy", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=dict(os.environ), check=False,
                          timeout=60)


def test_help_shows_the_endpoint_argument_kubeadms_flags_and_the_phase_tree() -> None:
    result = kubeadmpy("join", "--help")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "kubeadmpy join [OPTIONS] [API_SERVER_ENDPOINT]" in out
    for flag in ("--token", "--discovery-token-ca-cert-hash", "--discovery-file",
                 "--tls-bootstrap-token", "--control-plane", "--skip-phases", "--root-dir"):
        assert flag in out
    for phase in ("preflight", "control-plane-prepare", "kubelet-start", "control-plane-join",
                  "wait-control-plane", "pod-network"):
        assert phase in out


def test_phase_subcommands_come_from_the_phase_tree() -> None:
    result = kubeadmpy("join", "phase", "--help")
    assert result.returncode == 0, result.stderr
    for phase in ("preflight", "kubelet-start", "containerd", "pod-network"):
        assert phase in result.stdout
    nested = kubeadmpy("join", "phase", "containerd", "--help")
    assert "start" in nested.stdout and "images" in nested.stdout


@pytest.mark.parametrize(
    ("args", "field", "fix"),
    [
        ([], "discovery", "--discovery-file"),
        ([ENDPOINT, "--token", TOKEN], "discovery.bootstrapToken.caCertHashes",
         "--discovery-token-unsafe-skip-ca-verification"),
        ([ENDPOINT, "--token", "abcdef", "--discovery-token-ca-cert-hash", PIN],
         "discovery.bootstrapToken.token", ""),
        ([ENDPOINT, "--token", TOKEN, "--discovery-token-ca-cert-hash", "md5:1234"],
         "discovery.bootstrapToken.caCertHashes[0]", "sha256:<64 hex digits>"),
        (["10.0.0.1", "--token", TOKEN, "--discovery-token-ca-cert-hash", PIN],
         "discovery.bootstrapToken.apiServerEndpoint", "10.0.0.10:6443"),
        ([ENDPOINT, "--token", TOKEN, "--discovery-token-ca-cert-hash", PIN,
          "--tls-bootstrap-token", "nope"], "discovery.tlsBootstrapToken", ""),
        ([ENDPOINT, "--token", TOKEN, "--discovery-token-ca-cert-hash", PIN,
          "--node-name", "Bad_Name"], "nodeRegistration.name", ""),
        ([ENDPOINT, "--token", TOKEN, "--discovery-token-ca-cert-hash", PIN,
          "--skip-phases", "no-such-phase"], "--skip-phases", "kubelet-start"),
        ([ENDPOINT, "--token", TOKEN, "--discovery-token-ca-cert-hash", PIN,
          "--control-plane"], "--control-plane", "Join this machine as a worker"),
        ([ENDPOINT, "--token", TOKEN, "--discovery-token-ca-cert-hash", PIN,
          "--control-plane", "--certificate-key", "xyz"], "controlPlane.certificateKey", ""),
    ],
    ids=[
        "no endpoint and no discovery file",
        "a token without a CA pin",
        "a malformed token",
        "a CA pin that is not sha256",
        "an endpoint without a port",
        "a malformed TLS bootstrap token",
        "an invalid node name",
        "an unknown phase to skip",
        "a control-plane join",
        "a malformed certificate key",
    ],
)
def test_bad_input_is_an_error_naming_the_field_and_nothing_is_written(
        tmp_path: Path, args: list[str], field: str, fix: str) -> None:
    result = kubeadmpy("join", *args, "--root-dir", str(tmp_path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert field in result.stderr, result.stderr
    assert fix in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_config_and_discovery_flags_cannot_be_mixed(tmp_path: Path) -> None:
    config = tmp_path / "join.yaml"
    config.write_text(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n"
        f"  bootstrapToken:\n    token: {TOKEN}\n    apiServerEndpoint: {ENDPOINT}\n"
        f"    caCertHashes: [{PIN}]\n")
    result = kubeadmpy("join", "--config", str(config), "--token", TOKEN)
    assert result.returncode != 0
    assert "--config" in result.stderr and "--token" in result.stderr


def test_a_config_file_without_a_join_configuration_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "init.yaml"
    config.write_text("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n")
    result = kubeadmpy("join", "--config", str(config))
    assert result.returncode != 0
    assert "no JoinConfiguration document found" in result.stderr


def test_control_plane_only_flags_without_control_plane_are_ignored_with_a_warning(
        tmp_path: Path) -> None:
    result = kubeadmpy("join", ENDPOINT, "--token", TOKEN, "--discovery-token-ca-cert-hash",
                       PIN, "--apiserver-bind-port", "7443", "--root-dir", str(tmp_path),
                       "--skip-phases", "preflight,containerd,kubelet-start,pod-network")
    assert result.returncode == 0, result.stderr
    assert "--apiserver-bind-port only apply with --control-plane; ignored" in result.stderr
    assert list(tmp_path.iterdir()) == []
