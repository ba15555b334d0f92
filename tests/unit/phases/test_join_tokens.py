"""`kubeadmpy token`'s pure parts: flag checks naming the flag, kubeadm's list columns, the join
command printed for a kubeconfig."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kubeadmpy.client import ClientConfig
from kubeadmpy.errors import UserInputError
from kubeadmpy.phases import cluster_objects, join_tokens
from kubeadmpy.phases.join_tokens import TokenOptions
from kubeadmpy.pki import ca_cert_hash, certs, keys

TOKEN = "abcdef.0123456789abcdef"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_defaults_are_kubeadms() -> None:
    token = join_tokens.bootstrap_token(TokenOptions(TOKEN))
    assert token.ttl == timedelta(hours=24)
    assert token.usages == ["signing", "authentication"]
    assert token.groups == ["system:bootstrappers:kubeadm:default-node-token"]


@pytest.mark.parametrize(
    ("options", "flag", "said"),
    [
        (TokenOptions("abc"), "token", "is not a bootstrap token"),
        (TokenOptions(TOKEN, ttl="soon"), "--ttl", "is not a duration"),
        (TokenOptions(TOKEN, ttl="-1h"), "--ttl", "is negative"),
        (TokenOptions(TOKEN, usages=("signing", "bogus")), "--usages", "'bogus'"),
        (TokenOptions(TOKEN, groups=("system:nodes",)), "--groups", "not a bootstrap group"),
        (TokenOptions(TOKEN, usages=("signing",)), "--groups", "need the 'authentication'"),
    ],
    ids=["a malformed token", "a ttl that is no duration", "a negative ttl",
         "an unknown usage", "a group outside system:bootstrappers",
         "groups without the authentication usage"],
)
def test_bad_token_options_name_their_flag(options: TokenOptions, flag: str, said: str) -> None:
    with pytest.raises(UserInputError, match=said) as caught:
        join_tokens.bootstrap_token(options)
    assert caught.value.field == flag


@pytest.mark.parametrize(("text", "expected"), [("abcdef", "abcdef"), (TOKEN, "abcdef")],
                         ids=["a token id", "a whole token"])
def test_delete_takes_a_token_or_its_id(text: str, expected: str) -> None:
    assert join_tokens.token_id_of(text) == expected


def test_delete_refuses_anything_else_with_kubeadms_message() -> None:
    with pytest.raises(UserInputError, match='given token or token id "ABC" didn\'t match'):
        join_tokens.token_id_of("ABC")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(-5, "<invalid>"), (30, "30s"), (1800, "30m"), (5400, "1h"), (23 * 3600 + 59, "23h"),
     (3 * 86400, "3d"), (800 * 86400, "2y")],
    ids=["expired", "seconds", "minutes", "an hour and a half", "hours", "days", "years"],
)
def test_ttl_column_is_a_short_human_duration(seconds: int, shown: str) -> None:
    assert join_tokens.short_duration(timedelta(seconds=seconds)) == shown


def test_a_listed_token_shows_every_column_as_kubeadm_does() -> None:
    token = join_tokens.bootstrap_token(TokenOptions(TOKEN, description="for w1"))
    secret = cluster_objects.bootstrap_token_secret(token, NOW)
    row = join_tokens.token_row(secret, NOW + timedelta(hours=1))
    assert row == [TOKEN, "23h", "2026-01-02T00:00:00Z", "authentication,signing", "for w1",
                   "system:bootstrappers:kubeadm:default-node-token"]
    forever = join_tokens.bootstrap_token(TokenOptions(TOKEN, ttl="0", usages=("signing",),
                                                       groups=()))
    row = join_tokens.token_row(cluster_objects.bootstrap_token_secret(forever, NOW), NOW)
    assert row == [TOKEN, "<forever>", "<never>", "signing", "<none>", "<none>"]
    table = join_tokens.table([row])
    assert table.splitlines()[0].split() == ["TOKEN", "TTL", "EXPIRES", "USAGES",
                                             "DESCRIPTION", "EXTRA", "GROUPS"]
    assert table.splitlines()[1].startswith(f"{TOKEN}   <forever>")


def test_a_token_whose_expiration_does_not_parse_is_not_listed_as_never_expiring() -> None:
    # The authenticator refuses such a token, so "<forever>" would be a lie.
    token = join_tokens.bootstrap_token(TokenOptions(TOKEN))
    secret = cluster_objects.bootstrap_token_secret(token, NOW)
    secret.setdefault("stringData", {})["expiration"] = "next tuesday"
    row = join_tokens.token_row(secret, NOW)
    assert row is not None
    assert row[1:3] == ["<invalid>", "next tuesday"]


def test_the_join_command_pins_the_kubeconfigs_ca() -> None:
    ca = certs.create_ca("kubernetes", keys.generate_key("ECDSA-P256"), timedelta(days=1))
    ca_pem = certs.cert_pem(ca)
    config = ClientConfig(server="https://10.0.0.10:6443", ca_pem=ca_pem)
    assert join_tokens.join_command(config, TOKEN) == (
        f"kubeadmpy join 10.0.0.10:6443 --token {TOKEN} "
        f"--discovery-token-ca-cert-hash {ca_cert_hash(ca_pem)}")


def test_the_join_command_needs_a_kubeconfig_with_the_ca() -> None:
    with pytest.raises(UserInputError) as caught:
        join_tokens.join_command(ClientConfig(server="https://10.0.0.10:6443"), TOKEN)
    assert caught.value.field == "--kubeconfig"
