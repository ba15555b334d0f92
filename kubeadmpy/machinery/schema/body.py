"""Request bodies as the API server must treat them: duplicate fields, unknown fields, errors.

Upstream decodes a body into typed structs first and validates afterwards, and clients see the
difference: a value the decoder cannot read (a string where an int32 belongs) is 400 BadRequest,
unknown and duplicate fields are 400 under `fieldValidation=Strict`, `Warning` headers under
`Warn` (the default) and silently dropped under `Ignore`; only then do schema rules such as
required fields give 422 Invalid with causes. `check_body` applies exactly that order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kubeadmpy.machinery.schema.definitions import DEFAULT_VERSION, GVK
from kubeadmpy.machinery.schema.validation import inspect
from kubeadmpy.machinery.status import APIStatusError, bad_request, invalid

FIELD_VALIDATION_MODES = ("Strict", "Warn", "Ignore")


def decode_json_body(data: bytes | str) -> tuple[Any, list[str]]:
    """Parse a JSON body; also return the paths of duplicate fields (the last value wins)."""
    duplicates_by_object: dict[int, list[str]] = {}

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                duplicates_by_object.setdefault(id(result), []).append(key)
            result[key] = value
        return result

    try:
        decoded = json.loads(data, object_pairs_hook=pairs_hook)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the body of the request is not valid JSON: {exc}") from exc
    duplicates: list[str] = []
    if duplicates_by_object:
        _collect(decoded, "", duplicates_by_object, duplicates)
    return decoded, duplicates


def _collect(value: Any, path: str, marked: dict[int, list[str]], out: list[str]) -> None:
    if isinstance(value, dict):
        for key in marked.get(id(value), ()):
            out.append(f"{path}.{key}" if path else key)
        for key, item in value.items():
            _collect(item, f"{path}.{key}" if path else key, marked, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _collect(item, f"{path}[{index}]", marked, out)


def strict_decoding_error(unknown_fields: Sequence[str],
                          duplicate_fields: Sequence[str] = ()) -> APIStatusError:
    """The 400 upstream answers with under fieldValidation=Strict."""
    listed = [f'duplicate field "{path}"' for path in duplicate_fields]
    listed += [f'unknown field "{path}"' for path in unknown_fields]
    return bad_request("strict decoding error: " + ", ".join(listed))


def check_body(obj: dict[str, Any], field_validation: str = "Warn", *, name: str = "",
               gvk: GVK | None = None, duplicate_fields: Sequence[str] = (),
               version: str = DEFAULT_VERSION) -> list[str]:
    """Check a request body the way the API server does; returns `Warning` header texts.

    Unknown fields are dropped from `obj` in place in every mode, as decoding into typed
    structs does upstream. `duplicate_fields` come from `decode_json_body`.
    """
    if field_validation not in FIELD_VALIDATION_MODES:
        raise bad_request(
            f'fieldValidation: Unsupported value: "{field_validation}": supported values: '
            + ", ".join(f'"{m}"' for m in FIELD_VALIDATION_MODES))
    gvk = gvk or GVK.of(obj)
    found = inspect(obj, gvk, version)
    if found.undecodable:
        first = found.undecodable[0]
        raise bad_request(f'{gvk.kind} in version "{gvk.version}" cannot be handled as a '
                          f"{gvk.kind}: {first.field}: {first.message}")
    if field_validation == "Strict" and (found.unknown_fields or duplicate_fields):
        raise strict_decoding_error(found.unknown_fields, duplicate_fields)
    for parent, key in found.unknown_at:
        parent.pop(key, None)
    if found.causes:
        meta = obj.get("metadata")
        object_name = name or (meta.get("name", "") if isinstance(meta, dict) else "")
        raise invalid(gvk.kind, gvk.group, object_name, found.causes)
    if field_validation == "Warn":
        return ([f'duplicate field "{path}"' for path in duplicate_fields]
                + [f'unknown field "{path}"' for path in found.unknown_fields])
    return []
