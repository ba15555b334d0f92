"""The bootstrap signer: signs cluster-info's kubeconfig with every signing bootstrap token.

A joining node knows only a token `<id>.<secret>` and fetches kube-public/cluster-info
anonymously; the `jws-kubeconfig-<id>` key proves that someone holding the token secret (the
cluster) vouches for the kubeconfig. The value is a detached JWS (RFC 7515 appendix F):
protected header `{"alg":"HS256","kid":"<id>"}`, HMAC-SHA256 keyed with the token secret over
the exact `kubeconfig` string, stored as `<header>..<signature>` (base64url, no padding).
Tokens without `usage-bootstrap-signing: "true"`, expired ones and deleted ones lose their key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

from kubeadmpy.client import Controller, Request, Result
from kubeadmpy.client.clock import Clock
from kubeadmpy.controllers.cluster import bootstraptokens
from kubeadmpy.controllers.cluster.common import writable
from kubeadmpy.controllers.registry import ControllerContext

log = logging.getLogger(__name__)
NAME = "bootstrap-signer-controller"
CLUSTER_INFO_NAMESPACE, CLUSTER_INFO = "kube-public", "cluster-info"
KUBECONFIG_KEY = "kubeconfig"
SIGNATURE_PREFIX = "jws-kubeconfig-"
CLUSTER_INFO_REQUEST = Request(CLUSTER_INFO_NAMESPACE, CLUSTER_INFO)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def detached_signature(content: str, token_id: str, token_secret: str) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "kid": token_id},
                                separators=(",", ":")).encode())
    signing_input = f"{header}.{_b64url(content.encode())}".encode()
    signature = hmac.new(token_secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}..{_b64url(signature)}"


class BootstrapSigner:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock: Clock = ctx.clock
        self.configmaps = ctx.informers.informer(
            "configmaps", namespace=CLUSTER_INFO_NAMESPACE,
            field_selector=f"metadata.name={CLUSTER_INFO}")
        self.secrets = ctx.informers.informer("secrets", namespace=bootstraptokens.NAMESPACE)
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock)
        self.controller.watch(self.configmaps)
        self.controller.watch(self.secrets, lambda secret: [CLUSTER_INFO_REQUEST]
                              if bootstraptokens.is_token_secret(secret) else [])

    async def run(self) -> None:
        await self.controller.run()

    def wanted_signatures(self, content: str) -> tuple[dict[str, str], float | None]:
        """jws keys to have now, and seconds until the next token expires (to re-check)."""
        now = self.clock.wall()
        signatures: dict[str, str] = {}
        next_expiry: float | None = None
        for secret in self.secrets.store.list():
            token = bootstraptokens.parse_token(secret)
            if token is None or "signing" not in token.usages or token.expired(now):
                continue
            signatures[SIGNATURE_PREFIX + token.token_id] = detached_signature(
                content, token.token_id, token.secret)
            if token.expiration is not None:
                left = (token.expiration - now).total_seconds()
                next_expiry = left if next_expiry is None else min(next_expiry, left)
        return signatures, next_expiry

    async def reconcile(self, request: Request) -> Result | None:
        if request != CLUSTER_INFO_REQUEST:
            return None
        current = self.configmaps.store.get(request.key)
        if current is None:
            return None
        data = dict(current.get("data") or {})
        content = data.get(KUBECONFIG_KEY)
        if content is None:
            return None
        signatures, next_expiry = self.wanted_signatures(str(content))
        fresh = {k: v for k, v in data.items() if not k.startswith(SIGNATURE_PREFIX)}
        fresh.update(signatures)
        requeue = Result(requeue_after=next_expiry + 0.05) if next_expiry is not None else None
        if fresh == data:
            return requeue
        changed = writable(current)
        changed["data"] = fresh
        await self.client.update("configmaps", changed, CLUSTER_INFO_NAMESPACE)
        log.info("cluster-info: signed for tokens %s",
                 ", ".join(sorted(k.removeprefix(SIGNATURE_PREFIX) for k in signatures))
                 or "none")
        return requeue


def new_controller(ctx: ControllerContext) -> BootstrapSigner:
    return BootstrapSigner(ctx)
