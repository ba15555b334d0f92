"""A create body of the wrong shape, kind, apiVersion or namespace is a named 400/422."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.apiserver.resources import build_registry
from kubeadmpy.apiserver.writes import check_kind, prepare_create
from kubeadmpy.machinery.registry import ResourceSpec
from kubeadmpy.machinery.status import APIStatusError


def spec_of(group: str, version: str, plural: str) -> ResourceSpec:
    spec = build_registry().lookup(group, version, plural)
    assert spec is not None
    return spec


def test_kind_and_api_version_may_be_omitted() -> None:
    obj = check_kind(spec_of("", "v1", "configmaps"), {"data": {}})
    assert (obj["kind"], obj["apiVersion"], obj["metadata"]) == ("ConfigMap", "v1", {})


@pytest.mark.parametrize(("body", "code", "words"), [
    (["a", "list"], 400, "must be a JSON or YAML object"),
    ("text", 400, "must be a JSON or YAML object"),
    ({"kind": "Secret"}, 400, "the kind of the object (Secret) does not match"),
    ({"kind": "ConfigMap", "apiVersion": "apps/v1"}, 400,
     "the API version in the data (apps/v1) does not match"),
    ({"metadata": "c1"}, 422, "must be an object"),
    ({"metadata": None}, 422, "must be an object"),
])
def test_bad_body_shape_is_rejected(body: Any, code: int, words: str) -> None:
    with pytest.raises(APIStatusError) as caught:
        check_kind(spec_of("", "v1", "configmaps"), body)
    assert caught.value.code == code
    assert words in str(caught.value) or words in str(caught.value.to_status())


def test_a_namespace_that_contradicts_the_url_is_a_400() -> None:
    spec = spec_of("", "v1", "configmaps")
    obj = check_kind(spec, {"metadata": {"name": "c", "namespace": "other"}})
    with pytest.raises(APIStatusError) as caught:
        prepare_create(spec, obj, "ns")
    assert caught.value.code == 400 and "namespace of the provided object" in str(caught.value)


def test_a_bad_name_is_invalid() -> None:
    spec = spec_of("", "v1", "configmaps")
    obj = check_kind(spec, {"metadata": {"name": "Not_A_Name"}})
    with pytest.raises(APIStatusError) as caught:
        prepare_create(spec, obj, "ns")
    assert caught.value.code == 422 and caught.value.reason == "Invalid"
