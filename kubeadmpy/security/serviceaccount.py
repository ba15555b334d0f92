"""Service-account tokens: issuing bound JWTs (TokenRequest) and authenticating them.

Claims are upstream's: iss, sub=system:serviceaccount:<ns>:<name>, aud, exp, nbf, iat, jti and
the private `kubernetes.io` claim {namespace, serviceaccount{name,uid}, pod|secret|node{name,uid}}.
A token is accepted only when its issuer is one of --service-account-issuer, the signature
verifies with a --service-account-key-file key, the time claims hold (with upstream's one-minute
leeway), an audience matches, and the service account and the object it is bound to still exist
with the same uid (looked up through injected getters, i.e. the server's watch cache).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeadmpy.security import jws
from kubeadmpy.security.authn import NOT_APPLICABLE, AuthResult, failed
from kubeadmpy.security.identity import (
    SERVICEACCOUNTS_GROUP,
    UserInfo,
    service_account_username,
)

LEEWAY_SECONDS = 60  # go-jose's default leeway, which upstream's validator uses
CLAIM = "kubernetes.io"
EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name"
EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid"
EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name"
EXTRA_NODE_UID = "authentication.kubernetes.io/node-uid"
EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"

# (namespace, name) -> object or None; namespace is "" for cluster-scoped objects (Node)
ObjectGetter = Callable[[str, str], Mapping[str, Any] | None]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class BoundObject:
    """What a token is bound to: kind Pod, Secret or Node, with its name and uid."""

    kind: str
    name: str
    uid: str


@dataclass
class TokenIssuer:
    """Signs bound service-account tokens with --service-account-signing-key-file."""

    key: jws.PrivateKey
    issuer: str
    clock: Callable[[], dt.datetime] = _now

    def issue(self, namespace: str, service_account: str, service_account_uid: str,
              audiences: Sequence[str], expiration_seconds: int,
              bound: BoundObject | None = None,
              node: BoundObject | None = None) -> tuple[str, dt.datetime]:
        now = self.clock().replace(microsecond=0)
        expires = now + dt.timedelta(seconds=expiration_seconds)
        private: dict[str, Any] = {
            "namespace": namespace,
            "serviceaccount": {"name": service_account, "uid": service_account_uid},
        }
        if bound is not None:
            private[bound.kind.lower()] = {"name": bound.name, "uid": bound.uid}
        if node is not None:
            private["node"] = {"name": node.name, "uid": node.uid}
        claims = {
            "aud": list(audiences),
            "exp": int(expires.timestamp()),
            "iat": int(now.timestamp()),
            "iss": self.issuer,
            "jti": str(uuid.uuid4()),
            CLAIM: private,
            "nbf": int(now.timestamp()),
            "sub": service_account_username(namespace, service_account),
        }
        return jws.sign(claims, self.key), expires


@dataclass
class ObjectGetters:
    """Lookups used to check that a token's service account and bound object still exist."""

    service_account: ObjectGetter
    pod: ObjectGetter | None = None
    secret: ObjectGetter | None = None
    node: ObjectGetter | None = None


@dataclass
class ServiceAccountAuthenticator:
    issuers: Sequence[str]
    keys: Sequence[jws.PublicKey]
    getters: ObjectGetters
    # --api-audiences; empty means the first issuer, as kube-apiserver defaults it
    api_audiences: Sequence[str] = ()
    clock: Callable[[], dt.datetime] = _now
    _accepted: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._accepted = frozenset(self.api_audiences or self.issuers[:1])

    def authenticate_token(self, token: str, audiences: tuple[str, ...]) -> AuthResult:
        if token.count(".") != 2:
            return NOT_APPLICABLE
        try:
            parsed = jws.parse(token)
        except jws.JWSError as exc:
            return failed(f"service-account token: {exc}")
        issuer = parsed.claims.get("iss")
        if not isinstance(issuer, str) or issuer not in self.issuers:
            return failed(f"service-account token: issuer {issuer!r} is not one of "
                          f"{list(self.issuers)}")
        try:
            jws.verify(parsed, self.keys)
        except jws.JWSError as exc:
            return failed(f"service-account token: {exc}")
        return self._validate(parsed.claims, frozenset(audiences) or self._accepted)

    def _validate(self, claims: Mapping[str, Any], wanted: frozenset[str]) -> AuthResult:
        problem = _time_problem(claims, self.clock())
        if problem:
            return failed(f"service-account token: {problem}")
        aud = claims.get("aud")
        token_audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        matched = tuple(a for a in token_audiences if isinstance(a, str) and a in wanted)
        if not matched:
            return failed(f"service-account token: audiences {token_audiences!r} do not include "
                          f"any of {sorted(wanted)}")
        private = claims.get(CLAIM)
        if not isinstance(private, dict):
            return failed(f"service-account token: missing the {CLAIM!r} claim")
        namespace = private.get("namespace")
        sa = _ref(private.get("serviceaccount"))
        if not isinstance(namespace, str) or not namespace or sa is None:
            return failed("service-account token: namespace or serviceaccount claim missing")
        if claims.get("sub") != service_account_username(namespace, sa[0]):
            return failed("service-account token: sub does not name the serviceaccount claim")
        problem = _still_exists("service account", self.getters.service_account, namespace, sa)
        if problem:
            return failed(f"service-account token: {problem}")
        extra: dict[str, tuple[str, ...]] = {}
        for kind, getter, scope, name_key, uid_key in (
                ("pod", self.getters.pod, namespace, EXTRA_POD_NAME, EXTRA_POD_UID),
                ("secret", self.getters.secret, namespace, "", ""),
                ("node", self.getters.node, "", EXTRA_NODE_NAME, EXTRA_NODE_UID)):
            if kind not in private:
                continue
            ref = _ref(private.get(kind))
            if ref is None:
                return failed(f"service-account token: malformed {kind} claim")
            if getter is not None:
                problem = _still_exists(kind, getter, scope, ref)
                if problem:
                    return failed(f"service-account token: {problem}")
            if name_key:
                extra[name_key] = (ref[0],)
                extra[uid_key] = (ref[1],)
        jti = claims.get("jti")
        if isinstance(jti, str) and jti:
            extra[EXTRA_CREDENTIAL_ID] = (f"JTI={jti}",)
        user = UserInfo(service_account_username(namespace, sa[0]), sa[1],
                        (SERVICEACCOUNTS_GROUP, f"{SERVICEACCOUNTS_GROUP}:{namespace}"), extra)
        return AuthResult(user, audiences=matched)


def _ref(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, dict):
        return None
    name, uid = value.get("name"), value.get("uid", "")
    if not isinstance(name, str) or not name or not isinstance(uid, str):
        return None
    return name, uid


def _time_problem(claims: Mapping[str, Any], now: dt.datetime) -> str:
    stamp = now.timestamp()
    values = {}
    for key in ("exp", "nbf", "iat"):
        value = claims.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"claim {key!r} is not a number"
        values[key] = float(value)
    if "exp" not in values:
        return "token has no expiry (exp claim)"
    if stamp - LEEWAY_SECONDS > values["exp"]:
        return "token has expired"
    if "nbf" in values and stamp + LEEWAY_SECONDS < values["nbf"]:
        return "token is not valid yet (nbf)"
    if "iat" in values and stamp + LEEWAY_SECONDS < values["iat"]:
        return "token was issued in the future (iat)"
    return ""


def _still_exists(kind: str, getter: ObjectGetter, namespace: str, ref: tuple[str, str]) -> str:
    name, uid = ref
    obj = getter(namespace, name)
    where = f"{namespace}/{name}" if namespace else name
    if obj is None:
        return f"{kind} {where} has been deleted"
    actual = str((obj.get("metadata") or {}).get("uid", ""))
    if uid and actual != uid:
        return f"{kind} {where} uid ({actual}) does not match the token's ({uid})"
    return ""
