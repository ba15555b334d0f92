"""The CSR approving controller: auto-approves kubelet client certificate requests that the
requester is allowed to have approved.

Upstream's rules: only signer kubernetes.io/kube-apiserver-client-kubelet; a valid kubelet
client request (see csr.py) whose CN equals the requesting user is a *renewal* and needs
`create` on certificatesigningrequests/selfnodeclient, any other valid one (a bootstrap-token
user joining) needs `create` on certificatesigningrequests/nodeclient — kubeadm binds those
to system:nodes and the bootstrap token groups. The check is a SubjectAccessReview for the
CSR's requester (spec.username, groups, uid, extra), asked of the API server, so the server's
own authorizer decides. Anything else is left pending for a human (`kubectl certificate
approve`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kubeadmpy.client import Controller, Request, Result, errors
from kubeadmpy.client.clock import Clock
from kubeadmpy.controllers.cluster import csr
from kubeadmpy.controllers.cluster.common import JSONObject, rfc3339, spec, status, writable
from kubeadmpy.controllers.registry import ControllerContext

log = logging.getLogger(__name__)
NAME = "certificatesigningrequest-approving-controller"
SELF_NODE_CLIENT, NODE_CLIENT = "selfnodeclient", "nodeclient"
MESSAGES = {SELF_NODE_CLIENT: "Auto approving self kubelet client certificate after "
                              "SubjectAccessReview.",
            NODE_CLIENT: "Auto approving kubelet client certificate after SubjectAccessReview."}


def recognized_permissions(current: Mapping[str, Any]) -> list[str]:
    """Which csr subresource permissions could approve this request, most specific first."""
    if spec(current).get("signerName") != csr.KUBELET_CLIENT_SIGNER:
        return []
    try:
        parsed = csr.parse_request(current)
        csr.validate_kubelet_client(parsed, csr.usages(current))
    except csr.InvalidRequest:
        return []
    if parsed.common_name == spec(current).get("username"):
        return [SELF_NODE_CLIENT, NODE_CLIENT]
    return [NODE_CLIENT]


def access_review(current: Mapping[str, Any], subresource: str) -> JSONObject:
    requester = spec(current)
    review_spec: JSONObject = {
        "user": requester.get("username", ""), "groups": list(requester.get("groups") or []),
        "resourceAttributes": {"group": "certificates.k8s.io",
                               "resource": "certificatesigningrequests", "verb": "create",
                               "subresource": subresource}}
    if requester.get("uid"):
        review_spec["uid"] = requester["uid"]
    if requester.get("extra"):
        review_spec["extra"] = requester["extra"]
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": review_spec}


class CSRApprovingController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock: Clock = ctx.clock
        self.requests = ctx.informers.informer("certificatesigningrequests")
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock, workers=2)
        self.controller.watch(self.requests)

    async def run(self) -> None:
        await self.controller.run()

    async def _allowed(self, current: JSONObject, subresource: str) -> bool:
        answer = await self.client.request(
            "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            body=access_review(current, subresource))
        return bool((answer.get("status") or {}).get("allowed"))

    async def reconcile(self, request: Request) -> Result | None:
        current = self.requests.store.get(request.key)
        if current is None or csr.is_decided(current) or status(current).get("certificate"):
            return None
        for permission in recognized_permissions(current):
            if await self._allowed(current, permission):
                await self._approve(current, permission)
                return None
        return None

    async def _approve(self, current: JSONObject, permission: str) -> None:
        approved = writable(current)
        stamp = rfc3339(self.clock.wall())
        approved.setdefault("status", {}).setdefault("conditions", []).append({
            "type": "Approved", "status": "True", "reason": "AutoApproved",
            "message": MESSAGES[permission], "lastUpdateTime": stamp,
            "lastTransitionTime": stamp})
        try:
            await self.client.update("certificatesigningrequests", approved,
                                     subresource="approval")
        except errors.NotFound:
            return
        log.info("csr %s: approved (%s) for %s", current["metadata"]["name"], permission,
                 spec(current).get("username"))


def new_controller(ctx: ControllerContext) -> CSRApprovingController:
    return CSRApprovingController(ctx)
