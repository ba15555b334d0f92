"""Bootstrap-token Secrets as the signer/cleaner read them, the detached JWS shape, and which
PersistentVolume fits a claim."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from kubeadmpy.controllers.cluster import bootstraptokens, volumematch
from kubeadmpy.controllers.cluster.bootstrapsigner import detached_signature


def secret(name: str = "bootstrap-token-abcdef", **data: str) -> dict[str, Any]:
    values = {"token-id": "abcdef", "token-secret": "0123456789abcdef", **data}
    return {"metadata": {"name": name, "namespace": "kube-system"},
            "type": "bootstrap.kubernetes.io/token",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}}


def test_a_well_formed_token_secret_is_read_with_usages_and_expiration() -> None:
    token = bootstraptokens.parse_token(secret(**{"usage-bootstrap-signing": "true",
                                                  "usage-bootstrap-authentication": "false",
                                                  "expiration": "2030-01-01T00:00:00Z"}))
    assert token is not None
    assert token.usages == frozenset({"signing"})
    assert token.expiration == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("broken", [
    secret("bootstrap-token-zzzzzz"), secret(**{"token-id": "ABCDEF"}),
    secret(**{"token-secret": "short"}), {**secret(), "type": "Opaque"}],
    ids=["name does not match the id", "upper-case id", "short secret", "not a token type"])
def test_malformed_tokens_are_not_tokens(broken: dict[str, Any]) -> None:
    assert bootstraptokens.parse_token(broken) is None


def test_an_unreadable_expiration_counts_as_expired() -> None:
    expiration = bootstraptokens.expiration_of(secret(expiration="next tuesday"))
    assert expiration is not None and expiration < dt.datetime.now(dt.UTC)


def test_the_detached_jws_has_upstreams_header_and_no_payload() -> None:
    header, payload, signature = detached_signature("content", "abcdef",
                                                    "0123456789abcdef").split(".")
    assert payload == ""
    assert base64.urlsafe_b64decode(header + "==") == b'{"alg":"HS256","kid":"abcdef"}'
    assert json.loads(base64.urlsafe_b64decode(header + "=="))["kid"] == "abcdef"
    assert "=" not in signature and len(base64.urlsafe_b64decode(signature + "=")) == 32


def pv(name: str, size: str = "5Gi", modes: tuple[str, ...] = ("ReadWriteOnce",),
       storage_class: str = "", **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": extra.pop("labels", {})},
            "spec": {"capacity": {"storage": size}, "accessModes": list(modes),
                     "storageClassName": storage_class, **extra}, "status": {}}


CLAIM = {"metadata": {"name": "data", "namespace": "ns", "uid": "c1"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}}


@pytest.mark.parametrize(("volume", "fits"), [
    (pv("ok"), True),
    (pv("small", "1Gi"), False),
    (pv("mode", modes=("ReadOnlyMany",)), False),
    (pv("class", storage_class="fast"), False),
    (pv("block", volumeMode="Block"), False),
    (pv("taken", claimRef={"namespace": "ns", "name": "other", "uid": "x"}), False),
    (pv("prebound", claimRef={"namespace": "ns", "name": "data"}), True),
    (pv("milli", "2048Mi"), True),
], ids=["fits", "too small", "missing access mode", "other class", "other volume mode",
        "bound to another claim", "pre-bound to this claim", "equal size in other units"])
def test_which_volume_fits(volume: dict[str, Any], fits: bool) -> None:
    assert volumematch.fits(volume, CLAIM) is fits


def test_a_prebound_volume_wins_then_the_smallest() -> None:
    volumes = [pv("big", "100Gi"), pv("small", "3Gi"), pv("medium", "10Gi")]
    assert volumematch.best_volume(volumes, CLAIM)["metadata"]["name"] == "small"  # type: ignore[index]
    volumes.append(pv("mine", "50Gi", claimRef={"namespace": "ns", "name": "data"}))
    assert volumematch.best_volume(volumes, CLAIM)["metadata"]["name"] == "mine"  # type: ignore[index]


def test_a_claim_selector_limits_volumes() -> None:
    claim = {**CLAIM, "spec": {**CLAIM["spec"], "selector": {"matchLabels": {"disk": "ssd"}}}}
    assert not volumematch.fits(pv("plain"), claim)
    assert volumematch.fits(pv("ssd", labels={"disk": "ssd"}), claim)
