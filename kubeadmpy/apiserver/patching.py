"""PATCH bodies: JSON patch, merge patch, strategic merge patch and server-side apply.

The algorithms live in kubeadmpy.machinery.patch; this module maps content types to them and
keeps the 415 answer for anything else in one place.
"""

from __future__ import annotations

from typing import Any

from kubeadmpy.machinery import status
from kubeadmpy.machinery.patch import (
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    server_side_apply,
)
from kubeadmpy.machinery.registry import JSONObject

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH]


def check_content_type(content_type: str) -> None:
    if content_type not in PATCH_TYPES:
        raise status.unsupported_media_type(content_type, PATCH_TYPES)


def apply_patch(content_type: str, current: JSONObject, patch: Any) -> JSONObject:
    """The patched object (a new dict), or a 4xx Status error. Not for apply-patch."""
    check_content_type(content_type)
    if content_type == JSON_PATCH:
        result = apply_json_patch(current, patch)
    elif content_type == MERGE_PATCH:
        result = apply_merge_patch(current, patch)
    elif content_type == STRATEGIC_PATCH:
        # Strategic merge derives the kind's schema from the object's own apiVersion/kind.
        result = apply_strategic_merge_patch(current, patch)
    else:
        raise status.bad_request("apply patches are handled by server-side apply")
    if not isinstance(result, dict):
        raise status.bad_request("the patch did not produce an object")
    return result


def apply(live: JSONObject | None, config: Any, manager: str, force: bool) -> JSONObject:
    """Server-side apply of `config` over `live` (None: create) with managedFields updated."""
    merged, _managed = server_side_apply(live, config, manager, force)
    return merged
