"""RFC 7386 JSON merge patch, checked against the RFC's own appendix examples."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.machinery.patch import apply_merge_patch
from kubeadmpy.machinery.patch.merge_patch import merge
from kubeadmpy.machinery.status import APIStatusError

# (target, patch, result) from RFC 7386 Appendix A.
RFC_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_EXAMPLES,
                         ids=[f"rfc7386 example {n}" for n in range(1, len(RFC_EXAMPLES) + 1)])
def test_rfc_7386_examples(target: Any, patch: Any, result: Any) -> None:
    assert merge(target, patch) == result


def test_labels_merge_and_null_removes_one() -> None:
    obj = {"metadata": {"name": "a", "labels": {"app": "web", "tier": "front"}},
           "spec": {"ports": [{"port": 80}, {"port": 81}]}}
    patched = apply_merge_patch(obj, {"metadata": {"labels": {"tier": None, "env": "prod"}},
                                      "spec": {"ports": [{"port": 90}]}})
    assert patched == {"metadata": {"name": "a", "labels": {"app": "web", "env": "prod"}},
                       "spec": {"ports": [{"port": 90}]}}
    assert obj["metadata"]["labels"] == {"app": "web", "tier": "front"}


def test_an_api_merge_patch_must_be_an_object() -> None:
    with pytest.raises(APIStatusError) as raised:
        apply_merge_patch({"a": 1}, [1])
    assert raised.value.code == 400
