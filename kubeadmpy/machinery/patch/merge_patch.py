"""RFC 7386 JSON Merge Patch (`application/merge-patch+json`).

Used by `kubectl label/annotate/scale`, `patch --type=merge` and for kinds without a schema.
`null` removes a key, objects merge recursively, everything else (lists included) replaces.
Small enough that a dependency would add more than it saves.
"""

from __future__ import annotations

import copy
from typing import Any

from kubeadmpy.machinery.status import bad_request


def merge(target: Any, patch: Any) -> Any:
    """The RFC 7386 MergePatch algorithm; returns a new value, inputs are not changed."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def apply_merge_patch(obj: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Apply a merge patch to an API object; the patch must be a JSON object."""
    if not isinstance(patch, dict):
        raise bad_request("merge patch must be a JSON object, e.g. "
                          '{"metadata":{"labels":{"app":"web"}}}')
    result: dict[str, Any] = merge(copy.deepcopy(obj), patch)
    return result
