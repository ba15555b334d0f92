"""The token cleaner: deletes bootstrap-token Secrets once their `expiration` has passed.

Expired tokens already fail authentication; deleting them also removes their cluster-info
signature (the bootstrap signer follows) and keeps `kubeadm token list` honest. Each Secret is
looked at again when it is due, so no periodic full scan is needed.
"""

from __future__ import annotations

import logging

from kubeadmpy.client import Controller, Request, Result
from kubeadmpy.client.clock import Clock
from kubeadmpy.controllers.cluster import bootstraptokens
from kubeadmpy.controllers.cluster.common import delete_if_present, meta
from kubeadmpy.controllers.registry import ControllerContext

log = logging.getLogger(__name__)
NAME = "token-cleaner-controller"


class TokenCleaner:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock: Clock = ctx.clock
        self.secrets = ctx.informers.informer("secrets", namespace=bootstraptokens.NAMESPACE)
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock)
        self.controller.watch(self.secrets, lambda secret: [Request.of(secret)]
                              if bootstraptokens.is_token_secret(secret) else [])

    async def run(self) -> None:
        await self.controller.run()

    async def reconcile(self, request: Request) -> Result | None:
        secret = self.secrets.store.get(request.key)
        if secret is None:
            return None
        expiration = bootstraptokens.expiration_of(secret)
        if expiration is None:
            return None
        now = self.clock.wall()
        if now < expiration:
            return Result(requeue_after=(expiration - now).total_seconds() + 0.05)
        log.info("deleting expired bootstrap token secret %s", request.name)
        await delete_if_present(self.client, "secrets", request.name, request.namespace,
                                uid=str(meta(secret).get("uid") or ""))
        return None


def new_controller(ctx: ControllerContext) -> TokenCleaner:
    return TokenCleaner(ctx)
