"""The token cache: repeated tokens skip verification for a while, refusals are never cached."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric import ec
from security_testkit import ObjectTable, pod

from kubeadmpy.security.authn import AuthResult
from kubeadmpy.security.serviceaccount import (
    BoundObject,
    ObjectGetters,
    ServiceAccountAuthenticator,
    TokenIssuer,
)
from kubeadmpy.security.token_cache import CachedTokenAuthenticator

ISSUER = "https://kubernetes.default.svc"
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


class Counting:
    """Counts how often the real authenticator is asked (the cache's observable effect)."""

    def __init__(self, inner: ServiceAccountAuthenticator) -> None:
        self.inner, self.calls = inner, 0

    def authenticate_token(self, token: str, audiences: tuple[str, ...]) -> AuthResult:
        self.calls += 1
        return self.inner.authenticate_token(token, audiences)


def test_a_cached_token_lasts_only_the_ttl_after_its_pod_is_deleted() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    objects = ObjectTable()
    objects.add("serviceaccounts", {"metadata": {"namespace": "ns", "name": "default",
                                                 "uid": "sa"}})
    objects.add("pods", pod("ns", "web", "n1"))
    real = Counting(ServiceAccountAuthenticator(
        [ISSUER], [key.public_key()],
        ObjectGetters(objects.getter("serviceaccounts"), objects.getter("pods")),
        clock=lambda: NOW))
    seconds = [100.0]
    cache = CachedTokenAuthenticator(real, ttl_seconds=10, clock=lambda: seconds[0])
    token = TokenIssuer(key, ISSUER, lambda: NOW).issue(
        "ns", "default", "sa", [ISSUER], 3600, BoundObject("Pod", "web", "uid-web"))[0]

    assert cache.authenticate_token(token, ()).authenticated
    assert cache.authenticate_token(token, ()).authenticated
    assert real.calls == 1
    objects.remove("pods", "ns", "web")
    seconds[0] += 5
    assert cache.authenticate_token(token, ()).authenticated  # within the TTL, as upstream
    seconds[0] += 6
    result = cache.authenticate_token(token, ())
    assert not result.authenticated and "has been deleted" in result.reason
    assert real.calls == 2
    cache.authenticate_token(token, ())
    assert real.calls == 3  # refusals are asked again every time
