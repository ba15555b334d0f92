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


CONFIG = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 127.0.0.1
nodeRegistration:
  name: node1
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: prod
controlPlaneEndpoint: lb.example.com:443
certificateValidityPeriod: 48h
"""


def test_config_file_sets_server_cluster_name_and_validity(root_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "kubeadm.yaml"
    config.write_text(CONFIG)
    result = kubeadmpy("kubeconfig", "user", "--client-name", "bob", "--config", str(config),
                       "--root-dir", str(root_dir))  # fmt: skip
    assert result.returncode == 0, result.stderr
    kubeconfig = yaml.safe_load(result.stdout)
    assert kubeconfig["current-context"] == "bob@prod"
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://lb.example.com:443"
    renewed = kubeadmpy("certs", "renew", "front-proxy-client", "--config", str(config),
                        "--root-dir", str(root_dir))  # fmt: skip
    assert renewed.returncode == 0, renewed.stderr
    cert = load_cert(root_dir / "etc/kubernetes/pki/front-proxy-client.crt")
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 48 * 3600 <= lifetime.total_seconds() <= 48 * 3600 + 600  # CA start is 5 min back


def test_config_cannot_be_mixed_with_config_bound_flags(root_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "kubeadm.yaml"
    config.write_text(CONFIG)
    result = kubeadmpy("certs", "check-expiration", "--config", str(config), "--cert-dir", "/x",
                       "--root-dir", str(root_dir))  # fmt: skip
    assert result.returncode == 1
    assert "--config: can not be mixed with --cert-dir" in result.stderr


def test_certs_commands_reject_a_bad_config_before_touching_the_pki(
    root_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"
        "certificateValidityPeriod: -5h\n"
    )
    cert = root_dir / "etc/kubernetes/pki/apiserver.crt"
    before = cert.read_bytes()
    for command in (["check-expiration"], ["renew", "all"]):
        result = kubeadmpy("certs", *command, "--config", str(config), "--root-dir", str(root_dir))
        assert result.returncode == 1, command
        assert "certificateValidityPeriod: -5h0m0s is not positive" in result.stderr
        assert "Traceback" not in result.stderr
    assert cert.read_bytes() == before


def test_certs_renew_rejects_a_missing_config_file(root_dir: Path, tmp_path: Path) -> None:
    result = kubeadmpy("certs", "renew", "all", "--config", str(tmp_path / "nope.yaml"),
                       "--root-dir", str(root_dir))  # fmt: skip
    assert result.returncode == 1
    assert "nope.yaml: no such file" in result.stderr
