"""ensure_certs: create, reuse byte for byte, refuse unusable files without touching the disk."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kubeadmpy.errors import PKIError, UserInputError
from kubeadmpy.pki import (
    ALL_CERT_NAMES,
    ENCRYPTION_ALGORITHMS,
    Action,
    PKISettings,
    certs,
    ensure_certs,
    keys,
)

Snapshot = dict[str, tuple[bytes, int]]

KEY_FILES = [
    "ca.key", "apiserver.key", "apiserver-kubelet-client.key", "front-proxy-ca.key",
    "front-proxy-client.key", "etcd/ca.key", "etcd/server.key", "etcd/peer.key",
    "etcd/healthcheck-client.key", "apiserver-etcd-client.key", "sa.key", "sa.pub",
]  # fmt: skip
CERT_FILES = [
    "ca.crt", "apiserver.crt", "apiserver-kubelet-client.crt", "front-proxy-ca.crt",
    "front-proxy-client.crt", "etcd/ca.crt", "etcd/server.crt", "etcd/peer.crt",
    "etcd/healthcheck-client.crt", "apiserver-etcd-client.crt",
]  # fmt: skip


def test_a_fresh_directory_gets_every_file_with_kubeadm_modes(
    settings: PKISettings, cert_dir: Path, snapshot: Callable[[Path], Snapshot]
) -> None:
    results = ensure_certs(settings, cert_dir)
    assert [r.name for r in results] == list(ALL_CERT_NAMES)
    assert {r.action for r in results} == {Action.GENERATED}
    files = snapshot(cert_dir)
    assert sorted(files) == sorted(KEY_FILES + CERT_FILES)
    assert {name: mode for name, (_, mode) in files.items()} == {
        **{name: 0o600 for name in KEY_FILES},
        **{name: 0o644 for name in CERT_FILES},
    }
    assert results[0].messages == ('Generating "ca" certificate and key',)
    assert results[-1].messages == ('Generating "sa" key and public key',)


def test_a_rerun_reuses_everything_byte_for_byte(
    settings: PKISettings, cert_dir: Path, snapshot: Callable[[Path], Snapshot]
) -> None:
    ensure_certs(settings, cert_dir)
    before = snapshot(cert_dir)
    results = ensure_certs(settings, cert_dir)
    assert snapshot(cert_dir) == before
    assert {r.action for r in results} == {Action.REUSED}
    assert results[0].messages == ("Using existing ca certificate authority",)
    assert results[1].messages == ("Using existing apiserver certificate and key on disk",)
    assert results[-1].messages == ('Using the existing "sa" key',)


@pytest.mark.parametrize("algorithm", ENCRYPTION_ALGORITHMS)
def test_every_encryption_algorithm_produces_keys_of_that_kind_and_kubeadm_pem(
    algorithm: str, settings: PKISettings, cert_dir: Path
) -> None:
    ensure_certs(replace(settings, encryption_algorithm=algorithm), cert_dir)
    for name in [*KEY_FILES[:-2], "sa.key"]:
        pem = (cert_dir / name).read_bytes()
        key = keys.parse_private_key(pem, name)
        if algorithm.startswith("RSA"):
            assert isinstance(key, rsa.RSAPrivateKey)
            assert key.key_size == int(algorithm.split("-")[1])
            assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
        else:
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            assert key.curve.key_size == int(algorithm.removeprefix("ECDSA-P"))
            assert pem.startswith(b"-----BEGIN EC PRIVATE KEY-----")
    assert (cert_dir / "sa.pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    apiserver = certs.load_cert(cert_dir / "apiserver.crt")
    usage = apiserver.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_encipherment == algorithm.startswith("RSA")


def test_only_the_selected_certificates_are_created(settings: PKISettings, cert_dir: Path) -> None:
    results = ensure_certs(settings, cert_dir, ["etcd-server", "etcd-ca"])
    assert [r.name for r in results] == ["etcd-ca", "etcd-server"]
    assert sorted(p.name for p in (cert_dir / "etcd").iterdir()) == [
        "ca.crt", "ca.key", "server.crt", "server.key",
    ]  # fmt: skip
    assert not (cert_dir / "ca.crt").exists()


def test_an_unknown_certificate_name_is_a_user_error(settings: PKISettings, cert_dir: Path) -> None:
    with pytest.raises(UserInputError, match=r"'apiservr'.*Use one of ca, apiserver"):
        ensure_certs(settings, cert_dir, ["apiservr"])
    assert not cert_dir.exists()


def test_a_leaf_without_its_ca_says_which_phase_to_run(
    settings: PKISettings, cert_dir: Path
) -> None:
    with pytest.raises(PKIError, match=r"run `kubeadmpy init phase certs ca` first"):
        ensure_certs(settings, cert_dir, ["apiserver"])
    assert not cert_dir.exists()


def _foreign_ca(cert_dir: Path, settings: PKISettings) -> None:
    """Replace ca.crt/ca.key by another CA (e.g. copied from another cluster)."""
    other = cert_dir.parent / "other"
    ensure_certs(settings, other, ["ca"])
    for name in ("ca.crt", "ca.key"):
        shutil.copy2(other / name, cert_dir / name)
    shutil.rmtree(other)


def _with_fewer_sans(cert_dir: Path, settings: PKISettings) -> None:
    """An apiserver certificate made before an extra SAN was configured."""
    (cert_dir / "apiserver.crt").unlink()
    (cert_dir / "apiserver.key").unlink()
    ensure_certs(replace(settings, node_name="oldname"), cert_dir, ["apiserver"])


def _swap_key(cert_dir: Path, _settings: PKISettings) -> None:
    shutil.copy2(cert_dir / "front-proxy-client.key", cert_dir / "apiserver.key")


def _drop_leaf_key(cert_dir: Path, _settings: PKISettings) -> None:
    (cert_dir / "etcd/peer.key").unlink()


def _drop_ca_cert(cert_dir: Path, _settings: PKISettings) -> None:
    (cert_dir / "front-proxy-ca.crt").unlink()


def _garbage_cert(cert_dir: Path, _settings: PKISettings) -> None:
    (cert_dir / "apiserver-etcd-client.crt").write_text("not a certificate\n")


def _other_sa_pub(cert_dir: Path, _settings: PKISettings) -> None:
    key = keys.generate_key("ECDSA-P256")
    (cert_dir / "sa.pub").write_bytes(keys.public_key_pem(key.public_key()))


def _expired_leaf(cert_dir: Path, _settings: PKISettings) -> None:
    ca = certs.load_cert(cert_dir / "ca.crt")
    ca_key = keys.load_private_key(cert_dir / "ca.key")
    key = keys.load_private_key(cert_dir / "apiserver-kubelet-client.key")
    old = certs.load_cert(cert_dir / "apiserver-kubelet-client.crt")
    # valid from the CA's start (5 minutes ago) until one minute ago
    two_minutes_ago = datetime.now(UTC) - timedelta(minutes=2)
    expired = certs.sign_cert(
        certs.request_from_cert(old),
        key.public_key(),
        ca,
        ca_key,
        timedelta(minutes=1),
        two_minutes_ago,
    )
    (cert_dir / "apiserver-kubelet-client.crt").write_bytes(certs.cert_pem(expired))


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_foreign_ca, r"apiserver.crt is not signed by the ca CA in .*ca.crt; remove"),
        (_with_fewer_sans, r"apiserver.crt lacks the wanted SANs \[node1\]; remove"),
        (_swap_key, r"apiserver.key does not match .*apiserver.crt; remove"),
        (_drop_leaf_key, r"etcd/peer.crt exists without .*etcd/peer.key"),
        (_drop_ca_cert, r"front-proxy-ca.key exists without .*front-proxy-ca.crt"),
        (_garbage_cert, r"apiserver-etcd-client.crt is not a readable PEM certificate"),
        (_other_sa_pub, r"sa.pub does not match .*sa.key"),
        (_expired_leaf, r"apiserver-kubelet-client.crt expired on .*certs renew"),
    ],
    ids=[
        "leaf certificates not signed by a replaced CA are refused",
        "an apiserver certificate missing a wanted SAN is refused",
        "a key that does not match its certificate is refused",
        "a certificate without its key is refused",
        "a CA key without its certificate is refused",
        "an unreadable certificate is refused",
        "an sa.pub of another key is refused",
        "an expired leaf certificate is refused with the renew command",
    ],
)
def test_unusable_files_are_an_error_and_the_disk_stays_unchanged(
    damage: Callable[[Path, PKISettings], None],
    expected: str,
    settings: PKISettings,
    cert_dir: Path,
    snapshot: Callable[[Path], Snapshot],
) -> None:
    ensure_certs(settings, cert_dir)
    damage(cert_dir, settings)
    (cert_dir / "etcd" / "healthcheck-client.crt").unlink()  # something that would be written
    (cert_dir / "etcd" / "healthcheck-client.key").unlink()
    before = snapshot(cert_dir)
    with pytest.raises(PKIError, match=expected) as caught:
        ensure_certs(settings, cert_dir)
    assert "nothing was changed" in str(caught.value)
    assert snapshot(cert_dir) == before


def test_all_problems_are_reported_at_once(settings: PKISettings, cert_dir: Path) -> None:
    ensure_certs(settings, cert_dir)
    _swap_key(cert_dir, settings)
    _drop_leaf_key(cert_dir, settings)
    with pytest.raises(PKIError) as caught:
        ensure_certs(settings, cert_dir)
    assert "apiserver.key does not match" in str(caught.value)
    assert "etcd/peer.crt exists without" in str(caught.value)


def test_a_ca_without_its_key_is_external_ca_mode(
    settings: PKISettings, cert_dir: Path, snapshot: Callable[[Path], Snapshot]
) -> None:
    ensure_certs(settings, cert_dir)
    (cert_dir / "ca.key").unlink()
    before = snapshot(cert_dir)
    results = {r.name: r for r in ensure_certs(settings, cert_dir)}
    assert results["ca"].action is Action.EXTERNAL
    assert "External CA mode" in results["ca"].messages[1]
    assert results["apiserver"].action is Action.REUSED
    assert snapshot(cert_dir) == before


def test_external_ca_mode_never_generates_missing_leaves(
    settings: PKISettings, cert_dir: Path, snapshot: Callable[[Path], Snapshot]
) -> None:
    ensure_certs(settings, cert_dir)
    (cert_dir / "ca.key").unlink()
    (cert_dir / "apiserver.crt").unlink()
    (cert_dir / "apiserver.key").unlink()
    before = snapshot(cert_dir)
    with pytest.raises(PKIError, match=r"apiserver.crt is missing and cannot be generated.*"
                       r"external CA mode"):  # fmt: skip
        ensure_certs(settings, cert_dir)
    assert snapshot(cert_dir) == before


def test_an_existing_ca_signs_newly_requested_leaves(settings: PKISettings, cert_dir: Path) -> None:
    ensure_certs(settings, cert_dir, ["ca"])
    ca_pem = (cert_dir / "ca.crt").read_bytes()
    results = ensure_certs(settings, cert_dir, ["ca", "apiserver"])
    assert [r.action for r in results] == [Action.REUSED, Action.GENERATED]
    assert (cert_dir / "ca.crt").read_bytes() == ca_pem
    assert certs.is_signed_by(
        certs.load_cert(cert_dir / "apiserver.crt"), certs.load_cert(cert_dir / "ca.crt")
    )


def test_sa_pub_is_rewritten_from_an_existing_key(settings: PKISettings, cert_dir: Path) -> None:
    ensure_certs(settings, cert_dir, ["sa"])
    pub = (cert_dir / "sa.pub").read_bytes()
    (cert_dir / "sa.pub").unlink()
    assert ensure_certs(settings, cert_dir, ["sa"])[0].action is Action.REUSED
    assert (cert_dir / "sa.pub").read_bytes() == pub


def test_a_leaf_outliving_its_ca_is_generated_with_a_warning(
    settings: PKISettings, cert_dir: Path
) -> None:
    settings = replace(settings, ca_validity=timedelta(days=30))
    results = {r.name: r for r in ensure_certs(settings, cert_dir, ["ca", "apiserver"])}
    [warning] = results["apiserver"].warnings
    assert "after its ca CA expires" in warning
    assert results["apiserver"].lines()[-1] == f"[certs] WARNING: {warning}"


def test_an_unusable_ca_is_reported_once_not_for_every_leaf(
    settings: PKISettings, cert_dir: Path
) -> None:
    ensure_certs(settings, cert_dir)
    shutil.copy2(cert_dir / "front-proxy-ca.key", cert_dir / "etcd/ca.key")
    with pytest.raises(PKIError) as caught:
        ensure_certs(settings, cert_dir)
    problems = [line for line in str(caught.value).splitlines() if line.startswith("  - ")]
    assert len(problems) == 1
    assert "etcd/ca.key does not match" in problems[0]
    assert "a new CA would invalidate every certificate" in problems[0]


def test_an_expired_ca_is_never_replaced_silently(
    settings: PKISettings, cert_dir: Path, snapshot: Callable[[Path], Snapshot]
) -> None:
    ensure_certs(settings, cert_dir, ["ca"])
    key = keys.load_private_key(cert_dir / "ca.key")
    # backdated 5 minutes, valid for 1: expired 4 minutes ago
    expired = certs.create_ca("kubernetes", key, timedelta(minutes=1))
    (cert_dir / "ca.crt").write_bytes(certs.cert_pem(expired))
    before = snapshot(cert_dir)
    with pytest.raises(PKIError, match=r"ca.crt expired on .*a CA is never renewed in place"):
        ensure_certs(settings, cert_dir)
    assert snapshot(cert_dir) == before
