"""The CSR signing controller: issues certificates for approved requests of the built-in
signers kubernetes.io/kube-apiserver-client-kubelet, kubernetes.io/kubelet-serving and
kubernetes.io/kube-apiserver-client, with the cluster CA.

A request that breaks its signer's rules gets upstream's `Failed` condition (reason
SignerValidationFailure) instead of a certificate; requests for other signers are someone
else's and are left untouched. The certificate goes into `status.certificate` through the
status subresource.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import logging

from kubeadmpy.client import Controller, Request, Result, errors
from kubeadmpy.client.clock import Clock
from kubeadmpy.controllers.cluster import csr, signer
from kubeadmpy.controllers.cluster.common import (
    Disabled,
    JSONObject,
    host_file,
    rfc3339,
    spec,
    status,
    writable,
)
from kubeadmpy.controllers.registry import ControllerContext, Runnable

log = logging.getLogger(__name__)
NAME = "certificatesigningrequest-signing-controller"


class CSRSigningController:
    def __init__(self, ctx: ControllerContext, ca: signer.SigningCA) -> None:
        self.client = ctx.client
        self.clock: Clock = ctx.clock
        self.ca = ca
        self.duration = dt.timedelta(seconds=ctx.options.cluster_signing_duration)
        self.requests = ctx.informers.informer("certificatesigningrequests")
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock, workers=2)
        self.controller.watch(self.requests)

    async def run(self) -> None:
        await self.controller.run()

    async def reconcile(self, request: Request) -> Result | None:
        current = self.requests.store.get(request.key)
        if current is None:
            return None
        signer_name = str(spec(current).get("signerName") or "")
        validate = csr.VALIDATORS.get(signer_name)
        if validate is None or not csr.has_condition(current, "Approved") or \
                csr.has_condition(current, "Denied") or csr.has_condition(current, "Failed") \
                or status(current).get("certificate"):
            return None
        requested = csr.usages(current)
        try:
            parsed = csr.parse_request(current)
            validate(parsed, requested)
        except csr.InvalidRequest as exc:
            await self._fail(current, str(exc))
            return None
        now = self.clock.wall()
        pem = signer.sign(self.ca, parsed.request, requested, signer.certificate_duration(
            self.duration, spec(current).get("expirationSeconds")), now)
        issued = writable(current)
        issued.setdefault("status", {})["certificate"] = base64.b64encode(pem).decode()
        await self.client.update_status("certificatesigningrequests", issued)
        log.info("csr %s: signed a %s certificate for %s", request.name, signer_name,
                 parsed.common_name)
        return None

    async def _fail(self, current: JSONObject, message: str) -> None:
        log.info("csr %s: not signing: %s", current["metadata"]["name"], message)
        failed = writable(current)
        stamp = rfc3339(self.clock.wall())
        failed.setdefault("status", {}).setdefault("conditions", []).append({
            "type": "Failed", "status": "True", "reason": "SignerValidationFailure",
            "message": message, "lastUpdateTime": stamp, "lastTransitionTime": stamp})
        with contextlib.suppress(errors.NotFound):
            await self.client.update_status("certificatesigningrequests", failed)


def new_controller(ctx: ControllerContext) -> Runnable:
    options = ctx.options
    if not options.cluster_signing_cert_file and not options.cluster_signing_key_file:
        return Disabled(NAME, "no --cluster-signing-cert-file/--cluster-signing-key-file")
    ca = signer.load_signing_ca(host_file(ctx.root_dir, options.cluster_signing_cert_file),
                                host_file(ctx.root_dir, options.cluster_signing_key_file))
    return CSRSigningController(ctx, ca)
