"""kubeconfig files: kubeadm's shape, reuse with the same CA, refusal with another CA."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubeadmpy.errors import PKIError, UserInputError
from kubeadmpy.pki import (
    Action,
    PKISettings,
    UserKubeconfigRequest,
    ensure_certs,
    ensure_kubeconfigs,
    kubeconfig_for_user,
    user_kubeconfig,
)
from kubeadmpy.pki.certs import is_signed_by, load_cert

Snapshot = dict[str, tuple[bytes, int]]

# file → (user, O, server)
EXPECTED = {
    "admin.conf": ("kubernetes-admin", ["kubeadm:cluster-admins"], "https://lb.example.com:6443"),
    "super-admin.conf": (
        "kubernetes-super-admin",
        ["system:masters"],
        "https://lb.example.com:6443",
    ),
    "kubelet.conf": ("system:node:node1", ["system:nodes"], "https://lb.example.com:6443"),
    "controller-manager.conf": ("system:kube-controller-manager", [], "https://192.168.1.10:6443"),
    "scheduler.conf": ("system:kube-scheduler", [], "https://192.168.1.10:6443"),
}


def _client_cert(user: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))


@pytest.mark.parametrize("file", list(EXPECTED))
def test_kubeconfig_files_have_kubeadm_users_groups_and_servers(
    file: str, settings: PKISettings, cert_dir: Path, kube_dir: Path
) -> None:
    settings = replace(settings, control_plane_endpoint="lb.example.com")
    ensure_certs(settings, cert_dir, ["ca"])
    ensure_kubeconfigs(settings, cert_dir, kube_dir)
    user, orgs, server = EXPECTED[file]
    path = kube_dir / file
    assert path.stat().st_mode & 0o777 == 0o600
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == f"{user}@kubernetes"
    assert config["contexts"] == [
        {"context": {"cluster": "kubernetes", "user": user}, "name": f"{user}@kubernetes"}
    ]
    [cluster] = config["clusters"]
    assert cluster["name"] == "kubernetes" and cluster["cluster"]["server"] == server
    ca_pem = base64.b64decode(cluster["cluster"]["certificate-authority-data"])
    assert ca_pem == (cert_dir / "ca.crt").read_bytes()
    [entry] = config["users"]
    assert entry["name"] == user
    cert = _client_cert(entry["user"])
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == user
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == orgs
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert is_signed_by(cert, load_cert(cert_dir / "ca.crt"))


def test_the_cluster_name_names_cluster_and_contexts(
    settings: PKISettings, cert_dir: Path, kube_dir: Path
) -> None:
    settings = replace(settings, cluster_name="prod")
    ensure_certs(settings, cert_dir, ["ca"])
    ensure_kubeconfigs(settings, cert_dir, kube_dir, ["admin"])
    config = yaml.safe_load((kube_dir / "admin.conf").read_text())
    assert config["clusters"][0]["name"] == "prod"
    assert config["current-context"] == "kubernetes-admin@prod"


def test_a_rerun_keeps_every_kubeconfig_byte_for_byte(
    settings: PKISettings,
    cluster: Path,
    cert_dir: Path,
    snapshot: Callable[[Path], Snapshot],
) -> None:
    before = snapshot(cluster)
    results = ensure_kubeconfigs(settings, cert_dir, cluster)
    assert snapshot(cluster) == before
    assert {r.action for r in results} == {Action.REUSED}
    assert results[0].messages == (f'Using existing kubeconfig file: "{cluster / "admin.conf"}"',)


def test_a_server_mismatch_only_warns(settings: PKISettings, cluster: Path, cert_dir: Path) -> None:
    moved = replace(settings, control_plane_endpoint="lb.example.com:8443")
    results = {r.name: r for r in ensure_kubeconfigs(moved, cert_dir, cluster)}
    assert results["admin"].warnings == (
        f'a kubeconfig file "{cluster / "admin.conf"}" exists already but has an unexpected API '
        "Server URL: expected: https://lb.example.com:8443, got: https://192.168.1.10:6443",
    )
    assert results["scheduler"].warnings == ()


def test_a_kubeconfig_with_another_ca_is_refused_and_nothing_changes(
    settings: PKISettings,
    cluster: Path,
    cert_dir: Path,
    tmp_path: Path,
    snapshot: Callable[[Path], Snapshot],
) -> None:
    other = tmp_path / "other"
    ensure_certs(settings, other / "pki", ["ca"])
    ensure_kubeconfigs(settings, other / "pki", other, ["scheduler"])
    shutil.copy2(other / "scheduler.conf", cluster / "scheduler.conf")
    (cluster / "kubelet.conf").unlink()
    before = snapshot(cluster)
    with pytest.raises(PKIError, match=r"scheduler.conf exists already but has got the wrong CA"):
        ensure_kubeconfigs(settings, cert_dir, cluster)
    assert snapshot(cluster) == before


def test_an_unknown_kubeconfig_name_is_a_user_error(
    settings: PKISettings, cluster: Path, cert_dir: Path
) -> None:
    with pytest.raises(UserInputError, match=r"'admn'"):
        ensure_kubeconfigs(settings, cert_dir, cluster, ["admn"])


def test_external_ca_mode_keeps_supplied_kubeconfigs_and_refuses_missing_ones(
    settings: PKISettings, cluster: Path, cert_dir: Path
) -> None:
    (cert_dir / "ca.key").unlink()
    assert {r.action for r in ensure_kubeconfigs(settings, cert_dir, cluster)} == {Action.REUSED}
    (cluster / "admin.conf").unlink()
    with pytest.raises(PKIError, match=r"admin.conf is missing .*external CA mode"):
        ensure_kubeconfigs(settings, cert_dir, cluster)


def test_a_user_kubeconfig_carries_name_groups_and_validity(
    settings: PKISettings, cluster: Path, cert_dir: Path
) -> None:
    text = kubeconfig_for_user("alice", ["dev", "ops"], settings, cert_dir, timedelta(hours=24))
    config = yaml.safe_load(text)
    assert config["current-context"] == "alice@kubernetes"
    cert = _client_cert(config["users"][0]["user"])
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "dev",
        "ops",
    ]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(hours=24) <= lifetime <= timedelta(hours=24, minutes=6)


def test_a_token_user_kubeconfig_has_no_certificate(
    settings: PKISettings, cluster: Path, cert_dir: Path
) -> None:
    config = yaml.safe_load(
        kubeconfig_for_user("bot", [], settings, cert_dir, token="abcdef.0123456789abcdef")
    )
    assert config["users"] == [{"name": "bot", "user": {"token": "abcdef.0123456789abcdef"}}]


def test_user_kubeconfig_takes_server_and_cluster_from_admin_conf(
    settings: PKISettings, cert_dir: Path, kube_dir: Path
) -> None:
    settings = replace(settings, cluster_name="prod", control_plane_endpoint="lb.example.com")
    ensure_certs(settings, cert_dir, ["ca"])
    ensure_kubeconfigs(settings, cert_dir, kube_dir, ["admin"])
    config = yaml.safe_load(
        user_kubeconfig(
            UserKubeconfigRequest("alice", advertise_address="10.1.1.1"), cert_dir, kube_dir
        )
    )
    assert config["clusters"][0] == {
        "cluster": {
            "certificate-authority-data": config["clusters"][0]["cluster"][
                "certificate-authority-data"
            ],
            "server": "https://lb.example.com:6443",
        },
        "name": "prod",
    }


@pytest.mark.parametrize(
    ("request_", "server"),
    [
        (UserKubeconfigRequest("a", control_plane_endpoint="cp.example.com"), "https://cp.example.com:6443"),
        (UserKubeconfigRequest("a", advertise_address="10.1.1.1", bind_port=7443), "https://10.1.1.1:7443"),
    ],
    ids=["the control-plane endpoint is used without admin.conf", "else the advertise address"],
)  # fmt: skip
def test_user_kubeconfig_without_admin_conf_uses_the_flags(
    request_: UserKubeconfigRequest,
    server: str,
    settings: PKISettings,
    cert_dir: Path,
    kube_dir: Path,
) -> None:
    ensure_certs(settings, cert_dir, ["ca"])
    config = yaml.safe_load(user_kubeconfig(request_, cert_dir, kube_dir))
    assert config["clusters"][0]["cluster"]["server"] == server


def test_user_kubeconfig_without_any_server_names_the_flags_to_pass(
    settings: PKISettings, cert_dir: Path, kube_dir: Path
) -> None:
    ensure_certs(settings, cert_dir, ["ca"])
    with pytest.raises(UserInputError, match=r"--control-plane-endpoint or --apiserver-advertise"):
        user_kubeconfig(UserKubeconfigRequest("alice"), cert_dir, kube_dir)


@pytest.mark.parametrize(
    ("request_", "field", "problem"),
    [
        (UserKubeconfigRequest("", advertise_address="10.1.1.1"), "--client-name", "is empty"),
        (
            UserKubeconfigRequest("a", advertise_address="10.1.1.1", validity=timedelta(hours=-24)),
            "--validity-period",
            "-24h0m0s is not positive",
        ),
        (
            UserKubeconfigRequest("a", advertise_address="10.1.1.1", validity=timedelta(0)),
            "--validity-period",
            "0s is not positive",
        ),
        (
            UserKubeconfigRequest("a", advertise_address="no-ip"),
            "--apiserver-advertise-address",
            "'no-ip' is not an IP address",
        ),
        (
            UserKubeconfigRequest("a", advertise_address="10.1.1.1", bind_port=70000),
            "--apiserver-bind-port",
            "70000 is not a port",
        ),
        (
            UserKubeconfigRequest("a", control_plane_endpoint="bad_host:6443"),
            "--control-plane-endpoint",
            "",
        ),
    ],
    ids=[
        "an empty client name",
        "a negative validity, printed as a Go duration",
        "a zero validity",
        "an advertise address that is not an IP",
        "a bind port above 65535",
        "an endpoint host with an underscore",
    ],
)
def test_bad_user_kubeconfig_flags_name_the_flag(
    request_: UserKubeconfigRequest,
    field: str,
    problem: str,
    settings: PKISettings,
    cert_dir: Path,
    kube_dir: Path,
) -> None:
    ensure_certs(settings, cert_dir, ["ca"])
    with pytest.raises(UserInputError) as caught:
        user_kubeconfig(request_, cert_dir, kube_dir)
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert caught.value.fix


def test_an_ipv6_node_gets_bracketed_servers_and_ipv6_sans(cert_dir: Path, kube_dir: Path) -> None:
    settings = PKISettings("node1", "fd00::10", service_subnet="fd00:10:96::/112")
    ensure_certs(settings, cert_dir)
    ensure_kubeconfigs(settings, cert_dir, kube_dir, ["scheduler"])
    config = yaml.safe_load((kube_dir / "scheduler.conf").read_text())
    assert config["clusters"][0]["cluster"]["server"] == "https://[fd00::10]:6443"
    sans = load_cert(cert_dir / "apiserver.crt").extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert [str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)] == [
        "fd00:10:96::1",
        "fd00::10",
    ]


def test_kubeconfigs_need_the_ca_first(
    settings: PKISettings, cert_dir: Path, kube_dir: Path
) -> None:
    with pytest.raises(
        PKIError, match=r"ca.crt does not exist; run `kubeadmpy init phase certs ca`"
    ):
        ensure_kubeconfigs(settings, cert_dir, kube_dir)
    assert not kube_dir.exists()
