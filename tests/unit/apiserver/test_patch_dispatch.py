"""PATCH bodies by content type: a bad type, a body of the wrong shape or a patch that leaves no
object is a 4xx Status, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.apiserver.patching import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_PATCH,
    apply_patch,
)
from kubeadmpy.machinery.status import APIStatusError

LIVE = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"},
        "data": {"k": "v"}}


@pytest.mark.parametrize(("content_type", "patch"), [
    (JSON_PATCH, [{"op": "replace", "path": "/data/k", "value": "w"}]),
    (MERGE_PATCH, {"data": {"k": "w"}}),
    (STRATEGIC_PATCH, {"data": {"k": "w"}}),
])
def test_each_patch_type_changes_the_object(content_type: str, patch: Any) -> None:
    assert apply_patch(content_type, LIVE, patch)["data"] == {"k": "w"}
    assert LIVE["data"] == {"k": "v"}


@pytest.mark.parametrize(("content_type", "patch", "code"), [
    ("text/plain", {"data": {}}, 415),
    (APPLY_PATCH, {"data": {}}, 400),
    (JSON_PATCH, {"op": "remove", "path": "/data"}, 400),
    (JSON_PATCH, [{"op": "frobnicate", "path": "/data"}], 400),
    (JSON_PATCH, [{"op": "replace", "path": "", "value": ["a list"]}], 422),
    (MERGE_PATCH, ["not", "an", "object"], 400),
    (STRATEGIC_PATCH, "text", 400),
])
def test_bad_patches_are_a_4xx(content_type: str, patch: Any, code: int) -> None:
    with pytest.raises(APIStatusError) as caught:
        apply_patch(content_type, LIVE, patch)
    assert caught.value.code == code
