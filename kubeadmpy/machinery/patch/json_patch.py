"""RFC 6902 JSON Patch (`application/json-patch+json`) with Status-ready errors.

The operations themselves come from the `jsonpatch` library (pointer escapes `~0`/`~1`, the `-`
append index, move/copy/test); this module only validates the operation list a client sent and
turns every failure into the error the API server answers with: 400 for a malformed patch,
422 for a well-formed patch that does not apply to the object (as upstream does).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import jsonpointer

from kubeadmpy.machinery.status import APIStatusError, bad_request

_OPERATIONS = {"add": ("path", "value"), "remove": ("path",), "replace": ("path", "value"),
               "move": ("from", "path"), "copy": ("from", "path"), "test": ("path", "value")}


def patch_does_not_apply(message: str) -> APIStatusError:
    """422: the patch is well formed but cannot be applied to the current object."""
    return APIStatusError(422, "Invalid", message)


def _check_operations(ops: Any) -> list[dict[str, Any]]:
    if not isinstance(ops, list):
        raise bad_request("json patch must be a JSON array of operations, got "
                          f"{type(ops).__name__}")
    for index, op in enumerate(ops):
        if not isinstance(op, dict):
            raise bad_request(f"json patch operation {index} must be an object")
        name = op.get("op")
        if not isinstance(name, str) or name not in _OPERATIONS:  # a list is unhashable
            raise bad_request(f'json patch operation {index}: unsupported "op" {name!r}; '
                              f"use one of {', '.join(_OPERATIONS)}")
        for member in _OPERATIONS[name]:
            if member not in op:
                raise bad_request(f'json patch operation {index} ({name}) is missing "{member}"')
        for member in ("path", "from"):
            pointer = op.get(member)
            if pointer is not None and (not isinstance(pointer, str)
                                        or (pointer and not pointer.startswith("/"))):
                raise bad_request(f'json patch operation {index} ({name}): "{member}" must be '
                                  f'a JSON pointer such as "/metadata/labels", got {pointer!r}')
    return ops


def apply_json_patch(obj: dict[str, Any], ops: Any) -> dict[str, Any]:
    """Apply RFC 6902 operations to a copy of `obj`; `obj` itself is never changed."""
    operations = _check_operations(ops)
    result = copy.deepcopy(obj)
    for index, op in enumerate(operations):
        name = op["op"]
        try:
            result = jsonpatch.JsonPatch([op]).apply(result, in_place=True)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise patch_does_not_apply(
                f'test operation {index} failed: value at "{op["path"]}" is not '
                f'{json.dumps(op["value"])}') from exc
        except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
            where = op.get("from", op["path"]) if name in ("move", "copy") else op["path"]
            raise patch_does_not_apply(
                f'{name} operation {index} does not apply: doc is missing path: "{where}"'
            ) from exc
        except jsonpatch.JsonPatchException as exc:
            raise bad_request(f"json patch operation {index} ({name}): {exc}") from exc
    if not isinstance(result, dict):
        raise patch_does_not_apply("json patch must leave an object at the root")
    return result
