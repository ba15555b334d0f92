"""resourceVersion and continue tokens beyond etcd's int64 revisions are a 400: they reached the
etcd client, which refused to encode them (ValueError: a 500)."""

from __future__ import annotations

import base64
import json

import pytest
from multidict import MultiDict

from kubeadmpy.apiserver.listing import parse_list_options
from kubeadmpy.apiserver.resources import build_registry
from kubeadmpy.apiserver.storage import decode_continue
from kubeadmpy.machinery.status import APIStatusError


def token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("rv", [str(2**63), "9" * 40], ids=["int64-max-plus-one", "40-digits"])
def test_a_resource_version_beyond_int64_is_a_400(rv: str) -> None:
    spec = build_registry().lookup("", "v1", "configmaps")
    assert spec is not None
    with pytest.raises(APIStatusError) as caught:
        parse_list_options(spec, "ns", MultiDict({"resourceVersion": rv}))
    assert caught.value.code == 400 and f'invalid resource version "{rv}"' in str(caught.value)


def test_the_largest_int64_resource_version_is_accepted() -> None:
    spec = build_registry().lookup("", "v1", "configmaps")
    assert spec is not None
    query = MultiDict({"resourceVersion": str(2**63 - 1)})
    assert parse_list_options(spec, "ns", query).resource_version == str(2**63 - 1)


@pytest.mark.parametrize("text", [
    json.dumps({"v": "meta.k8s.io/v1", "rv": 2**63, "start": "a"}),
    json.dumps({"v": "meta.k8s.io/v1", "rv": 10**30, "start": "a"}),
    json.dumps({"v": "meta.k8s.io/v1", "rv": 0, "start": "a"}),
    json.dumps({"v": "meta.k8s.io/v1", "rv": -5, "start": "a"}),
    '{"rv": Infinity, "start": ""}',
    "[" * 3000 + "]" * 3000,
], ids=["int64-max-plus-one", "huge", "zero", "negative", "infinity", "deep"])
def test_a_continue_token_with_an_impossible_revision_is_a_400(text: str) -> None:
    with pytest.raises(APIStatusError) as caught:
        decode_continue(token(text))
    assert caught.value.code == 400 and "continue key is not valid" in str(caught.value)
