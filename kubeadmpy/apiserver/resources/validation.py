"""Small validation helpers the strategies share: required fields, names, enums, non-negatives."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubeadmpy.machinery.objects import validate_name
from kubeadmpy.machinery.status import Cause


def required(value: Any, path: str) -> list[Cause]:
    if value in (None, "", [], {}):
        return [Cause("FieldValueRequired", "Required value", path)]
    return []


def one_of(value: Any, allowed: Iterable[str], path: str) -> list[Cause]:
    allowed = list(allowed)
    if value is None or value in allowed:
        return []
    quoted = ", ".join(f'"{a}"' for a in allowed)
    return [Cause("FieldValueNotSupported",
                  f'Unsupported value: "{value}": supported values: {quoted}', path)]


def non_negative(value: Any, path: str) -> list[Cause]:
    if value is None:
        return []
    if not isinstance(value, int) or isinstance(value, bool):
        return [Cause("FieldValueTypeInvalid", f"Invalid value: {value!r}: must be an integer",
                      path)]
    if value < 0:
        return [Cause("FieldValueInvalid",
                      f"Invalid value: {value}: must be greater than or equal to 0", path)]
    return []


def is_object(value: Any, path: str) -> list[Cause]:
    if value is not None and not isinstance(value, dict):
        return [Cause("FieldValueTypeInvalid", "Invalid value: must be an object", path)]
    return []


def string_map(value: Any, path: str) -> list[Cause]:
    if value is None:
        return []
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return [Cause("FieldValueTypeInvalid", "Invalid value: must be a map of strings", path)]
    return []


def dns_label(value: Any, path: str) -> list[Cause]:
    if not isinstance(value, str) or not value:
        return [Cause("FieldValueRequired", "Required value", path)]
    return validate_name(value, path, label=True)


def immutable(new: Any, old: Any, path: str) -> list[Cause]:
    if new != old:
        return [Cause("FieldValueInvalid", "Invalid value: field is immutable", path)]
    return []
