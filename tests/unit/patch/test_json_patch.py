"""RFC 6902 JSON patch: every operation, pointer escapes, and Status-ready errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeadmpy.machinery.patch import apply_json_patch
from kubeadmpy.machinery.status import APIStatusError

OBJ: dict[str, Any] = {
    "metadata": {"name": "web", "labels": {"app": "web"},
                 "annotations": {"example.com/a~b": "1", "example.com/c": "2"}},
    "spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "redis"}]},
}


@pytest.mark.parametrize(
    ("ops", "path", "expected"),
    [
        pytest.param([{"op": "add", "path": "/metadata/labels/tier", "value": "front"}],
                     ["metadata", "labels"], {"app": "web", "tier": "front"},
                     id="add puts a new member into an object"),
        pytest.param([{"op": "add", "path": "/spec/containers/-", "value": {"name": "c"}}],
                     ["spec", "containers", 2], {"name": "c"},
                     id="add with the dash index appends to a list"),
        pytest.param([{"op": "add", "path": "/spec/containers/0", "value": {"name": "z"}}],
                     ["spec", "containers", 1, "name"], "a",
                     id="add at an index inserts and shifts the rest"),
        pytest.param([{"op": "remove", "path": "/metadata/labels/app"}],
                     ["metadata", "labels"], {}, id="remove deletes a member"),
        pytest.param([{"op": "remove", "path": "/metadata/annotations/example.com~1a~0b"}],
                     ["metadata", "annotations"], {"example.com/c": "2"},
                     id="~1 and ~0 escape slash and tilde in keys"),
        pytest.param([{"op": "replace", "path": "/spec/containers/1/image", "value": "r:7"}],
                     ["spec", "containers", 1, "image"], "r:7",
                     id="replace changes a value inside a list item"),
        pytest.param([{"op": "move", "from": "/metadata/labels/app",
                       "path": "/metadata/labels/name"}],
                     ["metadata", "labels"], {"name": "web"}, id="move renames a member"),
        pytest.param([{"op": "copy", "from": "/spec/containers/0/image",
                       "path": "/spec/containers/1/image"}],
                     ["spec", "containers", 1, "image"], "nginx",
                     id="copy duplicates a value"),
        pytest.param([{"op": "test", "path": "/metadata/name", "value": "web"},
                      {"op": "replace", "path": "/metadata/name", "value": "web2"}],
                     ["metadata", "name"], "web2", id="a passing test lets later ops run"),
    ],
)
def test_operations(ops: list[dict[str, Any]], path: list[Any], expected: Any) -> None:
    original = copy.deepcopy(OBJ)
    result: Any = apply_json_patch(OBJ, ops)
    for step in path:
        result = result[step]
    assert result == expected
    assert original == OBJ, "the input object is never changed"


@pytest.mark.parametrize(
    ("ops", "code", "message"),
    [
        pytest.param([{"op": "test", "path": "/metadata/name", "value": "db"}], 422,
                     'test operation 0 failed: value at "/metadata/name" is not "db"',
                     id="a failing test is 422"),
        pytest.param([{"op": "replace", "path": "/spec/replicas", "value": 1}], 422,
                     'replace operation 0 does not apply: doc is missing path: "/spec/replicas"',
                     id="replacing a missing member is 422"),
        pytest.param([{"op": "remove", "path": "/spec/containers/5"}], 422,
                     'remove operation 0 does not apply: doc is missing path: '
                     '"/spec/containers/5"', id="removing past the end of a list is 422"),
        pytest.param([{"op": "add", "path": "/status/phase", "value": "x"}], 422,
                     'add operation 0 does not apply: doc is missing path: "/status/phase"',
                     id="adding below a missing parent is 422"),
        pytest.param([{"op": "frobnicate", "path": "/a"}], 400,
                     "json patch operation 0: unsupported \"op\" 'frobnicate'; use one of add, "
                     "remove, replace, move, copy, test", id="an unknown op is 400"),
        pytest.param([{"op": "add", "path": "/a"}], 400,
                     'json patch operation 0 (add) is missing "value"',
                     id="an add without a value is 400"),
        pytest.param([{"op": "add", "path": "metadata", "value": 1}], 400,
                     'json patch operation 0 (add): "path" must be a JSON pointer such as '
                     "\"/metadata/labels\", got 'metadata'", id="a path without a slash is 400"),
        pytest.param({"op": "add"}, 400,
                     "json patch must be a JSON array of operations, got dict",
                     id="a patch that is not a list is 400"),
    ],
)
def test_errors_are_status_ready(ops: Any, code: int, message: str) -> None:
    with pytest.raises(APIStatusError) as raised:
        apply_json_patch(OBJ, ops)
    assert (raised.value.code, raised.value.message) == (code, message)
    assert raised.value.to_status()["code"] == code
