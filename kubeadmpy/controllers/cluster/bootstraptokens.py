"""Bootstrap-token Secrets as the bootstrap signer and token cleaner read them.

Facts (kubeadm.md §6.2): Secret kube-system/bootstrap-token-<id>, type
bootstrap.kubernetes.io/token, data `token-id`, `token-secret`, optional `expiration` (RFC 3339)
and `usage-bootstrap-<usage>: "true"`. A Secret whose name does not match its token id, or
whose id/secret are malformed, is not a token.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeadmpy.controllers.cluster.common import name_of, namespace_of
from kubeadmpy.security.bootstrap_tokens import parse_expiration, secret_values

SECRET_TYPE = "bootstrap.kubernetes.io/token"
NAMESPACE = "kube-system"
NAME_PREFIX = "bootstrap-token-"
_ID = re.compile(r"\A[a-z0-9]{6}\Z")
_SECRET = re.compile(r"\A[a-z0-9]{16}\Z")


@dataclass(frozen=True)
class BootstrapToken:
    token_id: str
    secret: str
    expiration: dt.datetime | None
    usages: frozenset[str]
    expiration_text: str = ""

    def expired(self, now: dt.datetime) -> bool:
        return self.expiration is not None and now >= self.expiration


def is_token_secret(secret: Mapping[str, Any]) -> bool:
    return secret.get("type") == SECRET_TYPE and namespace_of(secret) == NAMESPACE


def expiration_of(secret: Mapping[str, Any]) -> dt.datetime | None:
    """When the token expires; None if never. An unparseable expiration counts as already
    expired, as upstream treats it."""
    text = secret_values(secret).get("expiration", "")
    if not text:
        return None
    return parse_expiration(text) or dt.datetime.min.replace(tzinfo=dt.UTC)


def parse_token(secret: Mapping[str, Any]) -> BootstrapToken | None:
    """The token a Secret holds, or None if it is not a well-formed bootstrap token."""
    if not is_token_secret(secret):
        return None
    values = secret_values(secret)
    token_id, token_secret = values.get("token-id", ""), values.get("token-secret", "")
    if not _ID.match(token_id) or not _SECRET.match(token_secret) or \
            name_of(secret) != NAME_PREFIX + token_id:
        return None
    text = values.get("expiration", "")
    expiration = expiration_of(secret)
    usages = frozenset(key.removeprefix("usage-bootstrap-") for key, value in values.items()
                       if key.startswith("usage-bootstrap-") and value == "true")
    return BootstrapToken(token_id, token_secret, expiration, usages, text)
