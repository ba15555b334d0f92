"""The bootstrap signer and token cleaner against the real API server: cluster-info gets a
detached JWS per signing token — checked independently with the real openssl's HMAC-SHA256 —
and loses it when the token is deleted; expired token Secrets disappear."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess

from cluster_controllers_harness import eventually, running_controllers

from kubeadmpy.client import Client, errors
from kubeadmpy.controllers.cluster import bootstrapsigner, tokencleaner
from kubeadmpy.controllers.registry import ManagerOptions

KUBECONFIG = """apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTi0tLS0t
    server: https://10.0.0.10:6443
  name: ""
contexts: null
current-context: ""
kind: Config
preferences: {}
users: null
"""


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def openssl_hs256(key: str, data: bytes) -> bytes:
    return subprocess.run(["openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt",
                           f"key:{key}", "-binary"], input=data, capture_output=True,
                          check=True).stdout


def token_secret(token_id: str, secret: str, *, signing: bool = True,
                 expiration: str = "") -> dict[str, object]:
    data = {"token-id": token_id, "token-secret": secret,
            "usage-bootstrap-authentication": "true"}
    if signing:
        data["usage-bootstrap-signing"] = "true"
    if expiration:
        data["expiration"] = expiration
    return {"metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
            "type": "bootstrap.kubernetes.io/token", "stringData": data}


def rfc3339_in(seconds: float) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_cluster_info_is_signed_per_signing_token_and_unsigned_when_it_goes(
        admin: Client) -> None:
    await admin.create("configmaps", {"metadata": {"name": "cluster-info"},
                                      "data": {"kubeconfig": KUBECONFIG}}, "kube-public")
    await admin.create("secrets", token_secret("abcdef", "0123456789abcdef"), "kube-system")
    await admin.create("secrets", token_secret("nosign", "0123456789abcdef", signing=False),
                       "kube-system")
    async with running_controllers(admin, ManagerOptions(),
                                   ("bootstrapsigner", bootstrapsigner.new_controller)):
        async def signature() -> str | None:
            data = (await admin.get("configmaps", "cluster-info", "kube-public"))["data"]
            return data.get("jws-kubeconfig-abcdef")
        jws = await eventually(signature, "cluster-info has jws-kubeconfig-abcdef")
        header, payload, signed = jws.split(".")
        assert payload == ""  # detached: the payload is the kubeconfig itself
        assert json.loads(b64url_decode(header)) == {"alg": "HS256", "kid": "abcdef"}
        signing_input = header.encode() + b"." + base64.urlsafe_b64encode(
            KUBECONFIG.encode()).rstrip(b"=")
        assert b64url_decode(signed) == openssl_hs256("0123456789abcdef", signing_input)
        data = (await admin.get("configmaps", "cluster-info", "kube-public"))["data"]
        assert "jws-kubeconfig-nosign" not in data
        assert data["kubeconfig"] == KUBECONFIG

        await admin.delete("secrets", "bootstrap-token-abcdef", "kube-system")

        async def unsigned() -> bool:
            data = (await admin.get("configmaps", "cluster-info", "kube-public"))["data"]
            return "jws-kubeconfig-abcdef" not in data
        await eventually(unsigned, "the signature goes with its token")


async def test_expired_bootstrap_tokens_are_deleted_and_others_kept(admin: Client) -> None:
    await admin.create("secrets", token_secret("expird", "0123456789abcdef",
                                               expiration=rfc3339_in(-60)), "kube-system")
    await admin.create("secrets", token_secret("soonxx", "0123456789abcdef",
                                               expiration=rfc3339_in(2)), "kube-system")
    await admin.create("secrets", token_secret("foreva", "0123456789abcdef"), "kube-system")
    async with running_controllers(admin, ManagerOptions(),
                                   ("tokencleaner", tokencleaner.new_controller)):
        async def gone(name: str) -> bool:
            try:
                await admin.get("secrets", name, "kube-system")
            except errors.NotFound:
                return True
            return False
        await eventually(lambda: gone("bootstrap-token-expird"), "the expired token goes")
        await eventually(lambda: gone("bootstrap-token-soonxx"),
                         "the token expiring in 2 s goes once it expires", 20)
        assert not await gone("bootstrap-token-foreva")
