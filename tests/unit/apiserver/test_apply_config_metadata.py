"""An apply configuration whose metadata is not an object is a 400 naming metadata: it reached
managedFields bookkeeping and failed there (a 500)."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.apiserver.patching import apply
from kubeadmpy.machinery.status import APIStatusError

LIVE = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"},
        "data": {"k": "v"}}


@pytest.mark.parametrize("metadata", [[], True, "c", 3], ids=["list", "bool", "string", "number"])
def test_apply_with_metadata_of_the_wrong_type_is_a_400(metadata: Any) -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
    with pytest.raises(APIStatusError) as caught:
        apply(LIVE, config, "fuzz", False)
    assert caught.value.code == 400 and "metadata: Invalid value: must be an object" in str(
        caught.value)


def test_apply_without_metadata_still_applies() -> None:
    merged = apply(LIVE, {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "w"}},
                   "fuzz", True)
    assert merged["data"] == {"k": "w"}
