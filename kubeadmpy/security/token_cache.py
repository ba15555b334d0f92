"""A short-lived cache of successful token authentications, as kube-apiserver keeps one.

Verifying a service-account JWT costs a signature check (tens of microseconds for RSA, more
for ECDSA) plus lookups; clients send the same token on every request. Upstream caches token
results for 10 seconds; here only successes are cached (a token refused a moment ago because
its Secret was not yet visible should work as soon as it is). The price is upstream's too: a
token whose pod or Secret was just deleted keeps working for at most `ttl_seconds`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kubeadmpy.security.authn import AuthResult, TokenAuthenticator

DEFAULT_TTL_SECONDS = 10.0
MAX_ENTRIES = 10_000


@dataclass
class CachedTokenAuthenticator:
    """Wraps one token authenticator; keys are hashes, so no token is kept in memory."""

    inner: TokenAuthenticator
    ttl_seconds: float = DEFAULT_TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _entries: dict[bytes, tuple[float, AuthResult]] = field(default_factory=dict, repr=False)

    def authenticate_token(self, token: str, audiences: tuple[str, ...]) -> AuthResult:
        key = hashlib.sha256("\0".join((token, *audiences)).encode()).digest()
        now = self.clock()
        cached = self._entries.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        result = self.inner.authenticate_token(token, audiences)
        if result.authenticated and self.ttl_seconds > 0:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
            self._entries[key] = (now + self.ttl_seconds, result)
        else:
            self._entries.pop(key, None)
        return result
