"""A JSON patch operation whose "op" is not a string is a 400 naming the operation: a list there
was looked up in a dict of operation names and raised TypeError (a 500)."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.apiserver.patching import JSON_PATCH, apply_patch
from kubeadmpy.machinery.status import APIStatusError

LIVE = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}


@pytest.mark.parametrize("op", [[], {}, ["add"], None, 1], ids=lambda v: repr(v))
def test_an_op_that_is_not_a_string_is_a_400(op: Any) -> None:
    with pytest.raises(APIStatusError) as caught:
        apply_patch(JSON_PATCH, LIVE, [{"op": op, "path": "/data/k", "value": "w"}])
    assert caught.value.code == 400 and 'json patch operation 0: unsupported "op"' in str(
        caught.value)
