"""LimitRanges and ResourceQuotas (core/v1): the objects LimitRanger and ResourceQuota admission
read. LimitRange items get upstream's API defaults when stored (a Container item's `default`
comes from `max`, its `defaultRequest` from `default`, then from `min`), so admission sees what
upstream's would. A ResourceQuota's status belongs to the quota controller and admission; the
main resource keeps it, as every kind with a status subresource does.
"""

from __future__ import annotations

from typing import Any

from kubeadmpy.apiserver.resources.columns import AGE, CREATED_AT, NAME, dig, text
from kubeadmpy.apiserver.resources.validation import one_of
from kubeadmpy.machinery.registry import (
    STATUS_VERBS,
    JSONObject,
    ResourceSpec,
    Strategy,
    Subresource,
)
from kubeadmpy.machinery.status import Cause
from kubeadmpy.scheduler.quantities import QuantityError, parse_quantity

LIMIT_TYPES = ("Container", "Pod", "PersistentVolumeClaim")
_BUCKETS = ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")


def _quantities(value: Any, path: str) -> list[Cause]:
    """Each entry of a resource list must be a quantity."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [Cause("FieldValueTypeInvalid", "Invalid value: must be a map of quantities",
                      path)]
    causes = []
    for name, quantity in value.items():
        try:
            parse_quantity(quantity if isinstance(quantity, str | int | float) else "?")
        except QuantityError:
            causes.append(Cause("FieldValueInvalid", f"Invalid value: {quantity!r}: quantities "
                                "must match the regular expression "
                                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                                f"{path}[{name}]"))
    return causes


def _value(value: Any) -> Any:
    if not isinstance(value, str | int | float):
        return None
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


def _resources(item: dict[str, Any], bucket: str) -> dict[str, Any]:
    value = item.get(bucket)
    return dict(value) if isinstance(value, dict) else {}


class LimitRangeStrategy(Strategy):
    def default(self, obj: JSONObject) -> None:
        for item in dig(obj, "spec", "limits", default=[]) or []:
            if not isinstance(item, dict) or item.get("type") != "Container":
                continue
            default, request = _resources(item, "default"), _resources(item, "defaultRequest")
            for source, target in ((_resources(item, "max"), default), (default, request),
                                   (_resources(item, "min"), request)):
                for name, quantity in source.items():
                    target.setdefault(name, quantity)
            if default:
                item["default"] = default
            if request:
                item["defaultRequest"] = request

    def validate(self, obj: JSONObject) -> list[Cause]:
        causes: list[Cause] = []
        for index, item in enumerate(dig(obj, "spec", "limits", default=[]) or []):
            path = f"spec.limits[{index}]"
            if not isinstance(item, dict):
                causes.append(Cause("FieldValueTypeInvalid", "Invalid value: must be an object",
                                    path))
                continue
            if not item.get("type"):
                causes.append(Cause("FieldValueRequired", "Required value", f"{path}.type"))
            causes += one_of(item.get("type") or None, LIMIT_TYPES, f"{path}.type")
            for bucket in _BUCKETS:
                causes += _quantities(item.get(bucket), f"{path}.{bucket}")
            causes += _ordering(item, path)
        return causes


def _ordering(item: dict[str, Any], path: str) -> list[Cause]:
    """min ≤ defaultRequest ≤ default ≤ max, per resource, as upstream validates."""
    causes = []
    buckets = {bucket: _resources(item, bucket) for bucket in _BUCKETS}
    pairs = (("min", "max", "min", "min value {low} is greater than max value {high}"),
             ("min", "defaultRequest", "defaultRequest",
              "min value {low} is greater than default request value {high}"),
             ("defaultRequest", "max", "defaultRequest",
              "default request value {low} is greater than max value {high}"),
             ("defaultRequest", "default", "defaultRequest",
              "default request value {low} is greater than default limit value {high}"),
             ("default", "max", "default", "default value {low} is greater than max value "
              "{high}"),
             ("min", "default", "default", "min value {low} is greater than default value "
              "{high}"))
    for low_bucket, high_bucket, field, message in pairs:
        for name, low in buckets[low_bucket].items():
            high = buckets[high_bucket].get(name)
            low_value, high_value = _value(low), _value(high)
            if low_value is None or high_value is None or low_value <= high_value:
                continue
            shown = buckets[field][name]
            causes.append(Cause("FieldValueInvalid", f'Invalid value: "{shown}": '
                                + message.format(low=low, high=high),
                                f"{path}.{field}[{name}]"))
    for name, ratio in buckets["maxLimitRequestRatio"].items():
        value = _value(ratio)
        if value is not None and value < 1:  # every pod using the resource would be refused
            causes.append(Cause("FieldValueInvalid", f'Invalid value: "{ratio}": ratio {ratio} '
                                "is less than 1", f"{path}.maxLimitRequestRatio[{name}]"))
    return causes


class ResourceQuotaStrategy(Strategy):
    has_status = True

    def validate(self, obj: JSONObject) -> list[Cause]:
        hard = dig(obj, "spec", "hard")
        causes = _quantities(hard, "spec.hard")
        for name, quantity in (hard.items() if isinstance(hard, dict) else ()):
            value = _value(quantity)
            if value is not None and value < 0:  # a negative limit would refuse everything
                causes.append(Cause("FieldValueInvalid", f'Invalid value: "{quantity}": must be '
                                    "greater than or equal to 0", f"spec.hard[{name}]"))
        return causes


def _quota_cell(quota: JSONObject, limits: bool) -> str:
    """`kubectl get quota`'s REQUEST/LIMIT cells: "pods: 1/2, secrets: 0/5"."""
    hard = dig(quota, "status", "hard", default={}) or {}
    used = dig(quota, "status", "used", default={}) or {}
    return ", ".join(f"{name}: {used.get(name, '0')}/{hard[name]}" for name in sorted(hard)
                     if name.startswith("limits.") == limits)


LIMITRANGES = ResourceSpec("", "v1", "LimitRange", "limitranges", "limitrange", True,
                           short_names=("limits",), columns=(NAME, CREATED_AT),
                           strategy=LimitRangeStrategy())
RESOURCEQUOTAS = ResourceSpec(
    "", "v1", "ResourceQuota", "resourcequotas", "resourcequota", True, short_names=("quota",),
    subresources=(Subresource("status", STATUS_VERBS),),
    columns=(NAME, AGE, text("Request", lambda o, _: _quota_cell(o, False)),
             text("Limit", lambda o, _: _quota_cell(o, True))),
    strategy=ResourceQuotaStrategy())

LIMITS = (LIMITRANGES, RESOURCEQUOTAS)
