"""The serviceaccount controller: every active namespace has a `default` ServiceAccount.

Pods that name no service account run as `default`, so it must exist as soon as a namespace
does — and come back if someone deletes it. Terminating namespaces are left alone (creating
objects there would fight the namespace controller).
"""

from __future__ import annotations

from kubeadmpy.client import Controller, Request, Result
from kubeadmpy.controllers.cluster.common import (
    JSONObject,
    create_if_missing,
    namespace_of,
    status,
)
from kubeadmpy.controllers.registry import ControllerContext

NAME = "serviceaccount-controller"
MANAGED_ACCOUNTS = ("default",)


def _namespace_request(account: JSONObject) -> list[Request]:
    return [Request("", namespace_of(account))]


class ServiceAccountsController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.namespaces = ctx.informers.informer("namespaces")
        self.accounts = ctx.informers.informer("serviceaccounts")
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock,
                                     workers=ctx.options.concurrent_serviceaccount_syncs)
        self.controller.watch(self.namespaces)
        self.controller.watch(self.accounts, _namespace_request)

    async def run(self) -> None:
        await self.controller.run()

    async def reconcile(self, request: Request) -> Result | None:
        namespace = self.namespaces.store.get(request.name)
        if namespace is None or status(namespace).get("phase") == "Terminating":
            return None
        for account in MANAGED_ACCOUNTS:
            if self.accounts.store.get(f"{request.name}/{account}") is None:
                await create_if_missing(self.client, "serviceaccounts", {
                    "apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": account, "namespace": request.name}}, request.name)
        return None


def new_controller(ctx: ControllerContext) -> ServiceAccountsController:
    return ServiceAccountsController(ctx)
