"""Which PersistentVolume fits a claim (pure), as upstream's binder chooses statically.

A volume fits when it is free (no claimRef) or pre-bound to this very claim, is not being
deleted, has the claim's storageClassName ("" matches only ""), the claim's volumeMode
(Filesystem by default), every access mode the claim asks for, at least the requested storage
and labels matching the claim's selector. Among fitting volumes a pre-bound one wins, then the
smallest (least waste).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from kubeadmpy.controllers.cluster.common import (
    JSONObject,
    is_terminating,
    meta,
    name_of,
    namespace_of,
    spec,
    status,
)
from kubeadmpy.machinery.selectors import label_selector_from_object
from kubeadmpy.scheduler.quantities import parse_quantity

BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"


def storage(value: Any) -> Decimal:
    try:
        return parse_quantity(str(value or "0"), "storage")
    except Exception:
        return Decimal(0)


def claim_class(claim: Mapping[str, Any]) -> str:
    return str(spec(claim).get("storageClassName") or "")


def refers_to(volume: Mapping[str, Any], claim: Mapping[str, Any]) -> bool:
    ref = spec(volume).get("claimRef") or {}
    if ref.get("name") != name_of(claim) or ref.get("namespace") != namespace_of(claim):
        return False
    return not ref.get("uid") or ref.get("uid") == meta(claim).get("uid")


def fits(volume: Mapping[str, Any], claim: Mapping[str, Any]) -> bool:
    volume_spec, claim_spec = spec(volume), spec(claim)
    if is_terminating(volume) or status(volume).get("phase") in ("Released", "Failed"):
        return False
    if volume_spec.get("claimRef") and not refers_to(volume, claim):
        return False
    if str(volume_spec.get("storageClassName") or "") != claim_class(claim):
        return False
    if (volume_spec.get("volumeMode") or "Filesystem") != \
            (claim_spec.get("volumeMode") or "Filesystem"):
        return False
    if not set(claim_spec.get("accessModes") or []) <= set(volume_spec.get("accessModes") or []):
        return False
    wanted = storage(((claim_spec.get("resources") or {}).get("requests") or {}).get("storage"))
    if storage((volume_spec.get("capacity") or {}).get("storage")) < wanted:
        return False
    selector = claim_spec.get("selector")
    if selector:
        try:
            if not label_selector_from_object(selector).matches(meta(volume).get("labels")):
                return False
        except Exception:
            return False
    return True


def best_volume(volumes: Iterable[JSONObject], claim: Mapping[str, Any]) -> JSONObject | None:
    fitting = [v for v in volumes if fits(v, claim)]
    if not fitting:
        return None
    return min(fitting, key=lambda v: (not refers_to(v, claim),
                                       storage((spec(v).get("capacity") or {}).get("storage")),
                                       name_of(v)))
