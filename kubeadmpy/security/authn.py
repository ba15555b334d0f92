"""The authentication chain: which credential a request carries and who it names.

Order and semantics follow kube-apiserver: a client certificate is tried first, then the bearer
token against every token authenticator (bootstrap tokens, service-account JWTs); the first that
recognises the credential decides. A credential that is presented but not accepted is a failure
(401) even when anonymous access is on; only a request with no credential at all becomes
system:anonymous. Authenticators never raise: a failure carries a reason for the server's log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from kubeadmpy.security.identity import ANONYMOUS, UserInfo, with_authenticated_group

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    """What a request presents: the client certificate (DER) and the Authorization header."""

    client_cert_der: bytes | None = None
    authorization: str | None = None
    # audiences the server accepts for this request (--api-audiences); empty = the issuer's
    audiences: tuple[str, ...] = ()

    @property
    def bearer_token(self) -> str | None:
        """The token of `Authorization: Bearer <token>`, "" when malformed, None when absent."""
        if self.authorization is None:
            return None
        scheme, _, token = self.authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip()


@dataclass(frozen=True)
class AuthResult:
    """An authenticator's answer: a user, a failure reason, or "not my kind of credential"."""

    user: UserInfo | None = None
    reason: str = ""
    audiences: tuple[str, ...] = ()

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    @property
    def applicable(self) -> bool:
        return self.user is not None or bool(self.reason)


NOT_APPLICABLE = AuthResult()


def failed(reason: str) -> AuthResult:
    return AuthResult(reason=reason)


class Authenticator(Protocol):
    """One way of recognising a request's credential. Must not raise."""

    def authenticate(self, credentials: Credentials) -> AuthResult: ...


class TokenAuthenticator(Protocol):
    """One kind of bearer token. Returns NOT_APPLICABLE for tokens of another kind."""

    def authenticate_token(self, token: str, audiences: tuple[str, ...]) -> AuthResult: ...


@dataclass
class BearerTokenAuthenticator:
    """Tries each token authenticator in order; an unrecognised token is a failure."""

    token_authenticators: Sequence[TokenAuthenticator]

    def authenticate(self, credentials: Credentials) -> AuthResult:
        token = credentials.bearer_token
        if token is None:
            return NOT_APPLICABLE
        if not token:
            return failed("invalid bearer token: empty token in the Authorization header")
        return authenticate_token(self.token_authenticators, token, credentials.audiences)


def authenticate_token(authenticators: Sequence[TokenAuthenticator], token: str,
                       audiences: tuple[str, ...]) -> AuthResult:
    reasons: list[str] = []
    for authenticator in authenticators:
        try:
            result = authenticator.authenticate_token(token, audiences)
        except Exception as exc:  # a bug in one authenticator must be a 401, not a 500
            log.exception("token authenticator %r failed", authenticator)
            result = failed(f"internal error in {type(authenticator).__name__}: {exc}")
        if result.authenticated:
            return result
        if result.reason:
            reasons.append(result.reason)
    return failed("invalid bearer token" + (f": {'; '.join(reasons)}" if reasons else
                                            ": not a token any authenticator recognises"))


@dataclass
class AuthenticationChain:
    """kube-apiserver's authenticator union, with anonymous access as the last resort."""

    authenticators: Sequence[Authenticator]
    anonymous_enabled: bool = True

    def authenticate(self, credentials: Credentials) -> AuthResult:
        reasons: list[str] = []
        for authenticator in self.authenticators:
            try:
                result = authenticator.authenticate(credentials)
            except Exception as exc:
                log.exception("authenticator %r failed", authenticator)
                result = failed(f"internal error in {type(authenticator).__name__}: {exc}")
            if result.user is not None:
                user = with_authenticated_group(result.user)
                return AuthResult(user, result.reason, result.audiences)
            if result.reason:
                reasons.append(result.reason)
        if reasons:
            return failed("; ".join(reasons))
        if self.anonymous_enabled:
            return AuthResult(ANONYMOUS)
        return failed("no credentials presented and anonymous access is disabled")
