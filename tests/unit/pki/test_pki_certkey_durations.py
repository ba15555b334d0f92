"""Certificate key encryption, the CA pin format, and Go durations both ways."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from kubeadmpy.errors import PKIError, UserInputError
from kubeadmpy.pki import (
    ca_cert_hash,
    certificate_key,
    decrypt_with_certificate_key,
    encrypt_with_certificate_key,
    parse_duration,
    short_human_duration,
)


def test_a_certificate_key_is_64_hex_characters_and_fresh_each_time() -> None:
    key = certificate_key()
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert certificate_key() != key


def test_encryption_round_trips_with_a_fresh_nonce_each_time() -> None:
    key = certificate_key()
    first = encrypt_with_certificate_key(b"ca.key bytes", key)
    second = encrypt_with_certificate_key(b"ca.key bytes", key)
    assert first != second
    assert len(first) == 12 + len(b"ca.key bytes") + 16  # nonce || ciphertext || tag
    assert decrypt_with_certificate_key(first, key) == b"ca.key bytes"


def test_decrypting_with_the_wrong_key_says_how_to_get_the_right_one() -> None:
    sealed = encrypt_with_certificate_key(b"secret", certificate_key())
    with pytest.raises(PKIError, match=r"message authentication failed.*upload-certs"):
        decrypt_with_certificate_key(sealed, certificate_key())


@pytest.mark.parametrize(
    "bad", ["abc", "zz" * 32, "00" * 16], ids=["too short", "not hex", "AES-128"]
)
def test_a_malformed_certificate_key_is_a_user_error(bad: str) -> None:
    with pytest.raises(UserInputError) as caught:
        encrypt_with_certificate_key(b"x", bad)
    assert caught.value.field == "--certificate-key"


def test_ca_cert_hash_has_the_join_command_format(cluster: Path, cert_dir: Path) -> None:
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", ca_cert_hash((cert_dir / "ca.crt").read_bytes()))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("8760h", timedelta(days=365)),
        ("1h30m", timedelta(minutes=90)),
        ("90s", timedelta(seconds=90)),
        ("1.5h", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("0", timedelta(0)),
    ],
)
def test_go_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "--validity-period") == expected


@pytest.mark.parametrize("text", ["", "24", "1d", "h", "1h 30m", "99999999999999999h"])
def test_bad_durations_name_the_flag(text: str) -> None:
    with pytest.raises(UserInputError, match=r"--validity-period.*Go duration syntax"):
        parse_duration(text, "--validity-period")


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=-5), "<invalid>"),
        (timedelta(seconds=-0.5), "0s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(minutes=59), "59m"),
        (timedelta(hours=23), "23h"),
        (timedelta(hours=47), "1d"),
        (timedelta(days=364, hours=23), "364d"),
        (timedelta(days=3650), "10y"),
    ],
)
def test_residual_times_print_like_kubeadm(delta: timedelta, text: str) -> None:
    assert short_human_duration(delta) == text
