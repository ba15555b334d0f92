"""`kubeadmpy init` as a new user runs it: dry run, single phases, --root-dir, bad input."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import yaml

ADVERTISE = ["--apiserver-advertise-address", "10.0.0.10", "--node-name", "cp1"]


def kubeadmpy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubeadmpy", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        check=False,
        timeout=120,
    )


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root with a hash of its content and its mode."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() + oct(p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_dry_run_prints_every_file_and_writes_none_on_the_host(tmp_path: Path) -> None:
    before = snapshot(Path("/etc/kubernetes"))
    result = kubeadmpy(
        "init", "--dry-run", *ADVERTISE, env={"KUBEADMPY_INIT_DRYRUN_DIR": str(tmp_path / "dry")}
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert '[dryrun] Would write file "/etc/kubernetes/manifests/kube-apiserver.yaml"' in out
    assert "- --advertise-address=10.0.0.10" in out
    assert '"/etc/kubernetes/pki/ca.key" (mode 0600' in out
    assert "key material not shown" in out
    assert "PRIVATE KEY" not in out and "client-key-data" not in out  # secrets stay secret
    assert "kubeadmpy join 10.0.0.10:6443 --token" in out
    assert snapshot(Path("/etc/kubernetes")) == before


def test_phase_certs_all_writes_the_full_pki_under_the_root_dir(tmp_path: Path) -> None:
    result = kubeadmpy("init", "phase", "certs", "all", "--root-dir", str(tmp_path), *ADVERTISE)
    assert result.returncode == 0, result.stderr
    pki = tmp_path / "etc/kubernetes/pki"
    for name in (
        "ca",
        "apiserver",
        "front-proxy-ca",
        "etcd/ca",
        "etcd/server",
        "apiserver-etcd-client",
    ):
        assert (pki / f"{name}.crt").is_file(), name
        assert (pki / f"{name}.key").stat().st_mode & 0o777 == 0o600, name
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(pki / "ca.crt"), str(pki / "apiserver.crt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_rerunning_a_phase_reuses_the_files_byte_for_byte(tmp_path: Path) -> None:
    args = ("init", "phase", "certs", "all", "--root-dir", str(tmp_path), *ADVERTISE)
    assert kubeadmpy(*args).returncode == 0
    before = snapshot(tmp_path)
    second = kubeadmpy(*args)
    assert second.returncode == 0
    assert (
        'Using existing "apiserver" certificate and key' in second.stdout
        or "Using existing" in second.stdout
    )
    assert snapshot(tmp_path) == before


def test_a_full_init_writes_every_file_then_says_it_needs_a_running_control_plane(
    tmp_path: Path,
) -> None:
    result = kubeadmpy(
        "init",
        "--root-dir",
        str(tmp_path),
        "--ignore-preflight-errors",
        "all",
        "--pod-network-cidr",
        "10.244.0.0/16",
        *ADVERTISE,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: [wait-control-plane]")
    assert "no kubelet runs on this machine" in result.stderr
    assert "Traceback" not in result.stderr
    manifests = tmp_path / "etc/kubernetes/manifests"
    names = sorted(p.name for p in manifests.iterdir())
    assert names == [
        "etcd.yaml",
        "kube-apiserver.yaml",
        "kube-controller-manager.yaml",
        "kube-scheduler.yaml",
    ]
    cm = yaml.safe_load((manifests / "kube-controller-manager.yaml").read_text())
    command = cm["spec"]["containers"][0]["command"]
    assert "--cluster-cidr=10.244.0.0/16" in command
    kubelet = yaml.safe_load((tmp_path / "var/lib/kubelet/config.yaml").read_text())
    assert kubelet["clusterDNS"] == ["10.96.0.10"]
    for conf in (
        "admin.conf",
        "super-admin.conf",
        "kubelet.conf",
        "controller-manager.conf",
        "scheduler.conf",
    ):
        assert (tmp_path / "etc/kubernetes" / conf).stat().st_mode & 0o777 == 0o600


def test_skip_phases_leaves_out_the_skipped_files(tmp_path: Path) -> None:
    result = kubeadmpy(
        "init",
        "--root-dir",
        str(tmp_path),
        "--ignore-preflight-errors",
        "all",
        "--skip-phases",
        "etcd,wait-control-plane,upload-config,mark-control-plane,bootstrap-token,kubelet-finalize,addon",
        *ADVERTISE,
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "etc/kubernetes/manifests/etcd.yaml").exists()
    assert (tmp_path / "etc/kubernetes/manifests/kube-apiserver.yaml").exists()


BAD_INPUT = {
    "a malformed config file": (
        "config",
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: [oops\n",
        "line",
    ),
    "an unknown field": (
        "config",
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  podSubnett: 10.244.0.0/16\n",
        "podSubnet",
    ),
    "a bad CIDR": ("flag", ["--pod-network-cidr", "10.244.0.0/33"], "--pod-network-cidr"),
    "a bad token format": ("flag", ["--token", "abc.def"], "--token"),
    "a config mixed with flags": (
        "mixed",
        ["--pod-network-cidr", "10.244.0.0/16"],
        "--pod-network-cidr",
    ),
    "a bad advertise address": (
        "flag",
        ["--apiserver-advertise-address", "10.0.0.300"],
        "--apiserver-advertise-address",
    ),
    "a bind port out of range": (
        "flag",
        ["--apiserver-bind-port", "70000"],
        "--apiserver-bind-port",
    ),
    "a bad service CIDR": ("flag", ["--service-cidr", "10.96.0.0"], "--service-cidr"),
    "a bad control-plane endpoint": (
        "flag",
        ["--control-plane-endpoint", "cp.example.com:99999"],
        "--control-plane-endpoint",
    ),
    "a bad node name": ("flag", ["--node-name", "Not_A_Name"], "--node-name"),
    "a bad kubernetes version": (
        "flag",
        ["--kubernetes-version", "one.two"],
        "--kubernetes-version",
    ),
    "a bad token ttl": ("flag", ["--token-ttl", "tomorrow"], "--token-ttl"),
    "a bad certificate key": ("flag", ["--certificate-key", "xyz"], "--certificate-key"),
    "an unknown phase to skip": ("flag", ["--skip-phases", "certz"], "--skip-phases"),
    "ignore all mixed with names": ("flag_only", ["--ignore-preflight-errors", "all,Swap"], "all"),
}


@pytest.mark.parametrize("case", BAD_INPUT.values(), ids=list(BAD_INPUT))
def test_bad_input_gets_one_clear_paragraph_and_changes_nothing(
    tmp_path: Path, case: tuple
) -> None:
    kind, value, must_mention = case
    root = tmp_path / "root"
    args = ["init", "--root-dir", str(root), "--ignore-preflight-errors", "all", *ADVERTISE]
    if kind == "flag_only":
        args = ["init", "--root-dir", str(root), *ADVERTISE]
    if kind == "config":
        config = tmp_path / "kubeadm.yaml"
        config.write_text(value)
        args = ["init", "--root-dir", str(root), "--config", str(config)]
    elif kind == "mixed":
        config = tmp_path / "kubeadm.yaml"
        config.write_text("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n")
        args = ["init", "--root-dir", str(root), "--config", str(config), *value]
    else:
        args += value
    # later flags win with typer, so a bad value given after ADVERTISE replaces the good one
    result = kubeadmpy(*args)
    assert result.returncode == 1
    assert result.stderr.startswith("error:"), result.stderr
    assert must_mention in result.stderr
    assert "Traceback" not in result.stderr
    assert not root.exists() or snapshot(root) == {}


def test_an_existing_mismatched_ca_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for root in (first, second):
        assert (
            kubeadmpy(
                "init", "phase", "certs", "all", "--root-dir", str(root), *ADVERTISE
            ).returncode
            == 0
        )
    # Put a foreign CA next to the other PKI's leaves.
    pki = second / "etc/kubernetes/pki"
    for name in ("ca.crt", "ca.key"):
        (pki / name).write_bytes((first / "etc/kubernetes/pki" / name).read_bytes())
    before = snapshot(second)
    result = kubeadmpy("init", "phase", "certs", "all", "--root-dir", str(second), *ADVERTISE)
    assert result.returncode == 1
    assert "apiserver.crt" in result.stderr and "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(second) == before


def test_init_help_lists_the_phases() -> None:
    result = kubeadmpy("init", "--help")
    assert result.returncode == 0
    for phase in (
        "preflight",
        "certs",
        "/apiserver-etcd-client",
        "kubelet-start",
        "show-join-command",
    ):
        assert phase in result.stdout


def test_init_help_explains_each_flag() -> None:
    result = kubeadmpy("init", "--help", env={"COLUMNS": "250"})  # no wrapping inside the table
    text = " ".join(result.stdout.split())
    assert "The IP address the API Server will advertise" in text
    assert "Specify a stable IP address or DNS name for the control plane" in text
