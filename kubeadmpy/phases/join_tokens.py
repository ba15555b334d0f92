"""`kubeadmpy token`: the bootstrap tokens joining nodes use, managed on a running cluster.

A token is a Secret ``kube-system/bootstrap-token-<id>`` of type bootstrap.kubernetes.io/token,
the same object init's bootstrap-token phase writes (`cluster_objects.bootstrap_token_secret`);
the controller-manager's bootstrap signer then signs cluster-info for it, and its token cleaner
deletes it when it expires. Output follows kubeadm: `create` prints the token (or the whole join
command), `list` a table with TOKEN TTL EXPIRES USAGES DESCRIPTION EXTRA GROUPS.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kubeadmpy.client import Client, ClientConfig, errors
from kubeadmpy.config import v1beta4
from kubeadmpy.config.defaults import DEFAULT_TOKEN_GROUP, DEFAULT_TOKEN_USAGES
from kubeadmpy.config.durations import DURATION_HINT, DurationSyntaxError, parse_go_duration
from kubeadmpy.config.validation import TOKEN_FORMAT, TOKEN_GROUP_FORMAT, TOKEN_USAGES
from kubeadmpy.errors import KubeadmpyError, UserInputError
from kubeadmpy.phases import cluster_objects
from kubeadmpy.pki import ca_cert_hash
from kubeadmpy.security.bootstrap_tokens import parse_expiration, secret_values

KUBE_SYSTEM = "kube-system"
SECRET_TYPE = "bootstrap.kubernetes.io/token"
TOKEN_ID_FORMAT = re.compile(r"^[a-z0-9]{6}$")
COLUMNS = ("TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS")
TOKEN_HINT = ("A token is 6 then 16 characters of [a-z0-9] joined by a dot, like "
              "'abcdef.0123456789abcdef'; `kubeadmpy token generate` prints one")


@dataclass(frozen=True)
class TokenOptions:
    """`token create`'s flags as typed."""

    token: str
    ttl: str = "24h"
    description: str = ""
    usages: Sequence[str] = DEFAULT_TOKEN_USAGES
    groups: Sequence[str] = (DEFAULT_TOKEN_GROUP,)


def bootstrap_token(options: TokenOptions) -> v1beta4.BootstrapToken:
    """The token to create; each bad value is an error naming its flag."""
    if not TOKEN_FORMAT.match(options.token):
        raise UserInputError("token", f"{options.token!r} is not a bootstrap token", TOKEN_HINT)
    try:
        ttl = parse_go_duration(options.ttl)
    except DurationSyntaxError as exc:
        raise UserInputError("--ttl", str(exc), DURATION_HINT) from exc
    if ttl < timedelta(0):
        raise UserInputError("--ttl", f"{options.ttl!r} is negative",
                             "Give 0 for a token that never expires")
    for usage in options.usages:
        if usage not in TOKEN_USAGES:
            raise UserInputError("--usages", f"{usage!r} is not a token usage",
                                 f"Use {' and/or '.join(TOKEN_USAGES)}")
    for group in options.groups:
        if not TOKEN_GROUP_FORMAT.match(group):
            raise UserInputError("--groups", f"{group!r} is not a bootstrap group",
                                 f"Groups must look like '{DEFAULT_TOKEN_GROUP}'")
    if options.groups and "authentication" not in options.usages:
        raise UserInputError("--groups", "extra groups need the 'authentication' usage",
                             "Add authentication to --usages or drop --groups")
    return v1beta4.BootstrapToken(token=options.token, description=options.description,
                                  ttl=ttl, usages=list(options.usages),
                                  groups=list(options.groups))


async def create(client: Client, token: v1beta4.BootstrapToken, now: datetime) -> None:
    secret = cluster_objects.bootstrap_token_secret(token, now)
    try:
        await client.create("secrets", secret, KUBE_SYSTEM)
    except errors.AlreadyExists as exc:
        raise KubeadmpyError(f'a token with id "{token.token_id}" already exists: delete it '
                             "first or give another token") from exc


def token_id_of(text: str) -> str:
    """The id of a token or token id as `token delete` accepts them."""
    if TOKEN_ID_FORMAT.match(text):
        return text
    if TOKEN_FORMAT.match(text):
        return text.partition(".")[0]
    raise UserInputError("token", f'given token or token id "{text}" didn\'t match pattern '
                         f'"{TOKEN_ID_FORMAT.pattern}" or "{TOKEN_FORMAT.pattern}"', TOKEN_HINT)


async def delete(client: Client, text: str) -> str:
    token_id = token_id_of(text)
    try:
        await client.delete("secrets", f"bootstrap-token-{token_id}", KUBE_SYSTEM)
    except errors.NotFound as exc:
        raise KubeadmpyError(f'failed to delete bootstrap token with id "{token_id}": it does '
                             "not exist ('kubeadmpy token list' shows the tokens)") from exc
    return f'bootstrap token "{token_id}" deleted'


def short_duration(delta: timedelta) -> str:
    """kubeadm's TTL column (Kubernetes' ShortHumanDuration)."""
    seconds = int(delta.total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    for unit, size, limit in (("s", 1, 60), ("m", 60, 3600), ("h", 3600, 86400),
                              ("d", 86400, 86400 * 365)):
        if seconds < limit:
            return f"{seconds // size}{unit}"
    return f"{seconds // (86400 * 365)}y"


def token_row(secret: dict[str, Any], now: datetime) -> list[str] | None:
    values = secret_values(secret)
    token_id, token_secret = values.get("token-id", ""), values.get("token-secret", "")
    if not token_id or not token_secret:
        return None
    expiration = values.get("expiration", "")
    expires = parse_expiration(expiration)
    if expiration and expires is None:
        # The authenticator treats such a token as expired: never show it as "<forever>".
        ttl, until = "<invalid>", expiration
    else:
        ttl = short_duration(expires - now) if expires else "<forever>"
        until = expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if expires else "<never>"
    usages = sorted(key.removeprefix("usage-bootstrap-") for key, value in values.items()
                    if key.startswith("usage-bootstrap-") and value == "true")
    return [
        f"{token_id}.{token_secret}",
        ttl,
        until,
        ",".join(usages) or "<none>",
        values.get("description") or "<none>",
        values.get("auth-extra-groups") or "<none>",
    ]


async def list_rows(client: Client, now: datetime) -> list[list[str]]:
    found = await client.list("secrets", KUBE_SYSTEM)
    rows = [token_row(item, now) for item in found.items if item.get("type") == SECRET_TYPE]
    return sorted(row for row in rows if row is not None)


def table(rows: list[list[str]]) -> str:
    """Columns padded like Go's tabwriter (three spaces between columns)."""
    everything = [list(COLUMNS), *rows]
    widths = [max(len(row[i]) for row in everything) for i in range(len(COLUMNS))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in everything
    )


def join_command(config: ClientConfig, token: str) -> str:
    """`kubeadmpy join <endpoint> --token ... --discovery-token-ca-cert-hash ...` for a worker."""
    if not config.ca_pem:
        raise UserInputError("--kubeconfig", "has no certificate-authority(-data)",
                             "Use /etc/kubernetes/admin.conf, which embeds the cluster CA")
    endpoint = config.server.removeprefix("https://").rstrip("/")
    return (f"kubeadmpy join {endpoint} --token {token} "
            f"--discovery-token-ca-cert-hash {ca_cert_hash(config.ca_pem)}")
