"""certs renew and check-expiration, on a generated cluster directory."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from kubeadmpy.errors import PKIError, UserInputError
from kubeadmpy.pki import (
    PKISettings,
    check_expiration,
    ensure_certs,
    ensure_kubeconfigs,
    format_expiration,
    renew,
)
from kubeadmpy.pki.certs import is_signed_by, load_cert, request_from_cert


@pytest.fixture
def short_lived(settings: PKISettings, cert_dir: Path, kube_dir: Path) -> Path:
    """A cluster whose leaf certificates last two days."""
    settings = replace(settings, cert_validity=timedelta(days=2), apiserver_cert_sans=("x.io",))
    ensure_certs(settings, cert_dir)
    ensure_kubeconfigs(settings, cert_dir, kube_dir)
    return kube_dir


def _admin_cert(kube_dir: Path) -> x509.Certificate:
    user = yaml.safe_load((kube_dir / "admin.conf").read_text())["users"][0]["user"]
    return x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))


def test_renew_keeps_subject_and_sans_and_moves_expiry(short_lived: Path, cert_dir: Path) -> None:
    old = load_cert(cert_dir / "apiserver.crt")
    old_key = (cert_dir / "apiserver.key").read_bytes()
    [result] = renew("apiserver", cert_dir, short_lived)
    assert result.renewed and result.message == "certificate for serving the Kubernetes API renewed"
    new = load_cert(cert_dir / "apiserver.crt")
    assert request_from_cert(new) == request_from_cert(old)
    assert new.subject == old.subject
    assert new.not_valid_after_utc - old.not_valid_after_utc > timedelta(days=300)
    assert (cert_dir / "apiserver.key").read_bytes() != old_key
    assert (cert_dir / "apiserver.key").stat().st_mode & 0o777 == 0o600
    assert is_signed_by(new, load_cert(cert_dir / "ca.crt"))


def test_renew_all_renews_leaves_and_embedded_kubeconfig_certs(
    short_lived: Path, cert_dir: Path
) -> None:
    old_admin = _admin_cert(short_lived)
    kubelet_conf = (short_lived / "kubelet.conf").read_bytes()
    ca = (cert_dir / "ca.crt").read_bytes()
    results = renew("all", cert_dir, short_lived)
    assert all(r.renewed for r in results) and len(results) == 11
    new_admin = _admin_cert(short_lived)
    assert new_admin.subject == old_admin.subject
    assert new_admin.not_valid_after_utc > old_admin.not_valid_after_utc + timedelta(days=300)
    assert (short_lived / "admin.conf").stat().st_mode & 0o777 == 0o600
    assert (short_lived / "kubelet.conf").read_bytes() == kubelet_conf  # the kubelet rotates it
    assert (cert_dir / "ca.crt").read_bytes() == ca


@pytest.mark.parametrize("name", ["ca", "etcd-ca", "front-proxy-ca"])
def test_cas_are_never_renewed(name: str, short_lived: Path, cert_dir: Path) -> None:
    with pytest.raises(UserInputError, match=r"CAs are never renewed"):
        renew(name, cert_dir, short_lived)


def test_renewing_an_unknown_name_lists_the_valid_ones(short_lived: Path, cert_dir: Path) -> None:
    with pytest.raises(UserInputError, match=r"Use all or one of admin.conf, apiserver"):
        renew("kubelet.conf", cert_dir, short_lived)


def test_certificates_of_an_external_ca_are_skipped_by_all_and_refused_by_name(
    short_lived: Path, cert_dir: Path
) -> None:
    (cert_dir / "etcd/ca.key").unlink()
    etcd_server = (cert_dir / "etcd/server.crt").read_bytes()
    results = {r.name: r for r in renew("all", cert_dir, short_lived)}
    assert (
        not results["etcd-server"].renewed and "external etcd-ca" in results["etcd-server"].message
    )
    assert results["apiserver"].renewed
    assert (cert_dir / "etcd/server.crt").read_bytes() == etcd_server
    with pytest.raises(PKIError, match=r"external etcd-ca CA"):
        renew("etcd-server", cert_dir, short_lived)


def test_a_missing_certificate_is_skipped_by_all_and_refused_by_name(
    short_lived: Path, cert_dir: Path
) -> None:
    (short_lived / "super-admin.conf").unlink()
    results = {r.name: r for r in renew("all", cert_dir, short_lived)}
    assert not results["super-admin.conf"].renewed
    assert results["super-admin.conf"].message.startswith("MISSING!")
    with pytest.raises(PKIError, match=r"super-admin.conf does not exist"):
        renew("super-admin.conf", cert_dir, short_lived)


def test_check_expiration_reports_every_certificate_and_ca(
    short_lived: Path, cert_dir: Path
) -> None:
    (cert_dir / "front-proxy-ca.key").unlink()
    (short_lived / "scheduler.conf").unlink()
    report = check_expiration(cert_dir, short_lived)
    rows = {row.name: row for row in report.certificates}
    assert list(rows) == sorted(rows)
    assert rows["scheduler.conf"].expires is None
    assert rows["front-proxy-client"].externally_managed
    assert rows["front-proxy-client"].ca_name == "front-proxy-ca"
    assert not rows["apiserver"].externally_managed
    assert [a.name for a in report.authorities] == ["ca", "front-proxy-ca", "etcd-ca"]
    now = datetime.now(UTC)
    text = format_expiration(report, now)
    lines = text.splitlines()
    assert lines[0].split("   ")[0] == "CERTIFICATE"
    assert "RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED" in lines[0]
    apiserver = next(line for line in lines if line.startswith("apiserver "))
    assert apiserver.split()[-3:] == ["1d", "ca", "no"]
    assert "!MISSING! scheduler.conf" in text
    ca_table = lines[lines.index("") + 1 :]
    assert ca_table[0].split() == ["CERTIFICATE", "AUTHORITY", "EXPIRES", "RESIDUAL", "TIME",
                                   "EXTERNALLY", "MANAGED"]  # fmt: skip
    front_proxy = next(line for line in ca_table if line.startswith("front-proxy-ca "))
    assert front_proxy.split()[-2:] == ["9y", "yes"]
