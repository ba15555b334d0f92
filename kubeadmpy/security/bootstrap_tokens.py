"""Bootstrap-token authentication (`--enable-bootstrap-token-auth`).

A token `<id>.<secret>` names the Secret kube-system/bootstrap-token-<id>; the request is
`system:bootstrap:<id>` in system:bootstrappers plus the Secret's auth-extra-groups when the Secret
is of type bootstrap.kubernetes.io/token, holds the same secret, allows authentication and has
not expired. The Secret is read through an injected getter (the server's watch cache).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubeadmpy.security.authn import NOT_APPLICABLE, AuthResult, failed
from kubeadmpy.security.identity import BOOTSTRAPPERS_GROUP, UserInfo

TOKEN_PATTERN = re.compile(r"\A([a-z0-9]{6})\.([a-z0-9]{16})\Z")
EXTRA_GROUP_PATTERN = re.compile(r"\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\Z")
SECRET_TYPE = "bootstrap.kubernetes.io/token"
SECRET_NAMESPACE = "kube-system"
SECRET_PREFIX = "bootstrap-token-"
USER_PREFIX = "system:bootstrap:"

SecretGetter = Callable[[str, str], Mapping[str, Any] | None]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def secret_values(secret: Mapping[str, Any]) -> dict[str, str]:
    """The Secret's data decoded (stored base64), overlaid with any stringData."""
    values: dict[str, str] = {}
    for key, raw in dict(secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(raw), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            values[str(key)] = ""
    for key, raw in dict(secret.get("stringData") or {}).items():
        values[str(key)] = str(raw)
    return values


def parse_expiration(text: str) -> dt.datetime | None:
    """An RFC 3339 timestamp as an aware datetime, None if it does not parse."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else None


@dataclass
class BootstrapTokenAuthenticator:
    get_secret: SecretGetter
    clock: Callable[[], dt.datetime] = _now

    def authenticate_token(self, token: str, audiences: tuple[str, ...]) -> AuthResult:
        match = TOKEN_PATTERN.match(token)
        if not match:
            return NOT_APPLICABLE
        token_id, token_secret = match.groups()
        name = SECRET_PREFIX + token_id
        secret = self.get_secret(SECRET_NAMESPACE, name)
        if secret is None:
            return failed(f"bootstrap token: secret {SECRET_NAMESPACE}/{name} not found")
        if (secret.get("metadata") or {}).get("deletionTimestamp"):
            return failed(f"bootstrap token: secret {SECRET_NAMESPACE}/{name} is being deleted")
        if secret.get("type") != SECRET_TYPE:
            return failed(f"bootstrap token: secret {SECRET_NAMESPACE}/{name} has type "
                          f"{secret.get('type')!r}, not {SECRET_TYPE!r}")
        values = secret_values(secret)
        if not hmac.compare_digest(values.get("token-secret", "").encode(),
                                   token_secret.encode()):
            return failed(f"bootstrap token: secret of token {token_id!r} does not match")
        if values.get("token-id") != token_id:
            return failed(f"bootstrap token: secret {name} holds token-id "
                          f"{values.get('token-id')!r}, not {token_id!r}")
        expiration = values.get("expiration", "")
        if expiration:
            expires = parse_expiration(expiration)
            if expires is None:
                return failed(f"bootstrap token {token_id!r}: unparseable expiration "
                              f"{expiration!r}")
            if self.clock() >= expires:
                return failed(f"bootstrap token {token_id!r} expired at {expiration}")
        if values.get("usage-bootstrap-authentication") != "true":
            return failed(f"bootstrap token {token_id!r} is not usable for authentication "
                          "(usage-bootstrap-authentication is not \"true\")")
        extra = [g.strip() for g in values.get("auth-extra-groups", "").split(",") if g.strip()]
        for group in extra:
            if not EXTRA_GROUP_PATTERN.match(group):
                return failed(f"bootstrap token {token_id!r}: auth-extra-groups entry "
                              f"{group!r} does not start with system:bootstrappers:")
        groups = (BOOTSTRAPPERS_GROUP, *[g for g in extra if g != BOOTSTRAPPERS_GROUP])
        return AuthResult(UserInfo(USER_PREFIX + token_id, groups=groups))
