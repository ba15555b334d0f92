"""PATCH bodies: JSON patch, merge patch, strategic merge patch and server-side apply.

The patch algorithms live in kubeadmpy.machinery.patch (another engineer's module). They are
imported lazily: until a content type's implementation is present, that content type gets a clear
415 naming the missing piece instead of being silently mishandled.
"""

from __future__ import annotations

import importlib
from typing import Any

from kubeadmpy.machinery import status
from kubeadmpy.machinery.registry import JSONObject

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH]


def _function(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def _missing(content_type: str, what: str) -> status.APIStatusError:
    return status.unsupported_media_type(
        content_type, [t for t in PATCH_TYPES if implementation(t) is not None],
        f"{what} is not supported by this server yet")


def implementation(content_type: str) -> Any:
    if content_type == JSON_PATCH:
        return _function("kubeadmpy.machinery.patch.json_patch", "apply_json_patch")
    if content_type == MERGE_PATCH:
        return _function("kubeadmpy.machinery.patch.merge_patch", "apply_merge_patch")
    if content_type == STRATEGIC_PATCH:
        return _function("kubeadmpy.machinery.patch.strategic", "apply_strategic_merge_patch")
    return None


def apply_patch(content_type: str, current: JSONObject, patch: Any) -> JSONObject:
    """The patched object (a new dict), or a 4xx Status error."""
    if content_type not in PATCH_TYPES:
        raise status.unsupported_media_type(content_type, PATCH_TYPES)
    function = implementation(content_type)
    if function is None:
        what = {APPLY_PATCH: "server-side apply", JSON_PATCH: "JSON patch",
                MERGE_PATCH: "merge patch", STRATEGIC_PATCH: "strategic merge patch"}
        raise _missing(content_type, what[content_type])
    # Strategic merge derives the kind's schema from the object's own apiVersion/kind.
    result = function(current, patch)
    if not isinstance(result, dict):
        raise status.bad_request("the patch did not produce an object")
    return result
