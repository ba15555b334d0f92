"""`kubeadmpy certs ...` and `kubeadmpy kubeconfig user` run as a user runs them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from kubeadmpy.pki.certs import load_cert


def kubeadmpy(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubeadmpy.cli.main", *args],
        capture_output=True, text=True, timeout=120, input=stdin,
    )  # fmt: skip


def test_check_expiration_prints_kubeadm_tables(root_dir: Path) -> None:
    result = kubeadmpy("certs", "check-expiration", "--root-dir", str(root_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        r"CERTIFICATE\s+EXPIRES\s+RESIDUAL TIME\s+CERTIFICATE AUTHORITY\s+EXTERNALLY MANAGED",
        lines[0],
    )
    names = [line.split()[0] for line in lines[1 : lines.index("")]]
    assert names == [
        "admin.conf", "apiserver", "apiserver-etcd-client", "apiserver-kubelet-client",
        "controller-manager.conf", "etcd-healthcheck-client", "etcd-peer", "etcd-server",
        "front-proxy-client", "scheduler.conf", "super-admin.conf",
    ]  # fmt: skip
    assert re.fullmatch(
        r"apiserver\s+\w{3} \d\d, \d{4} \d\d:\d\d UTC\s+364d\s+ca\s+no", lines[2]
    ), lines[2]
    ca_lines = lines[lines.index("") + 1 :]
    assert re.fullmatch(
        r"CERTIFICATE AUTHORITY\s+EXPIRES\s+RESIDUAL TIME\s+EXTERNALLY MANAGED", ca_lines[0]
    )
    assert [line.split()[0] for line in ca_lines[1:]] == ["ca", "front-proxy-ca", "etcd-ca"]


def test_check_expiration_honours_cert_dir(root_dir: Path) -> None:
    (root_dir / "etc/kubernetes/pki").rename(root_dir / "etc/kubernetes/certs")
    result = kubeadmpy(
        "certs", "check-expiration", "--root-dir", str(root_dir),
        "--cert-dir", "/etc/kubernetes/certs",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "!MISSING!" not in result.stdout


def test_renew_moves_expiry_and_reminds_to_restart(root_dir: Path) -> None:
    cert = root_dir / "etc/kubernetes/pki/apiserver.crt"
    before = load_cert(cert)
    result = kubeadmpy("certs", "renew", "apiserver", "--root-dir", str(root_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("certificate for serving the Kubernetes API renewed\n")
    assert "You must restart the kube-apiserver" in result.stdout
    after = load_cert(cert)
    assert after.serial_number != before.serial_number
    assert after.not_valid_after_utc >= before.not_valid_after_utc
    assert after.subject == before.subject


def test_renewing_a_ca_fails_cleanly_without_a_traceback(root_dir: Path) -> None:
    result = kubeadmpy("certs", "renew", "ca", "--root-dir", str(root_dir))
    assert result.returncode == 1
    assert result.stderr.startswith("error: certificate name: 'ca' is a certificate authority")
    assert "Traceback" not in result.stderr


def test_a_missing_pki_is_reported_with_the_file(tmp_path: Path) -> None:
    result = kubeadmpy("kubeconfig", "user", "--client-name", "a", "--root-dir", str(tmp_path),
                       "--apiserver-advertise-address", "10.0.0.1")  # fmt: skip
    assert result.returncode == 1
    assert f"{tmp_path}/etc/kubernetes/pki/ca.crt does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_certificate_key_prints_64_hex_characters() -> None:
    result = kubeadmpy("certs", "certificate-key")
    assert result.returncode == 0
    assert re.fullmatch(r"[0-9a-f]{64}\n", result.stdout)


def test_kubeconfig_user_prints_a_kubeconfig_kubectl_reads(root_dir: Path, tmp_path: Path) -> None:
    result = kubeadmpy(
        "kubeconfig", "user", "--client-name", "alice", "--org", "dev", "--org", "ops",
        "--validity-period", "24h", "--root-dir", str(root_dir),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    path = tmp_path / "alice.conf"
    path.write_text(result.stdout)
    view = subprocess.run(
        ["kubectl", "config", "view", "--raw", "--kubeconfig", str(path)],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    config = yaml.safe_load(view)
    assert config["current-context"] == "alice@kubernetes"
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"  # from admin.conf


def test_kubeconfig_user_rejects_a_bad_validity_period(root_dir: Path) -> None:
    result = kubeadmpy("kubeconfig", "user", "--client-name", "a", "--validity-period", "1 day",
                       "--root-dir", str(root_dir))  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: --validity-period: '1 day' is not a duration")
