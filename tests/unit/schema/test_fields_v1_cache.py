"""FieldsV1 encodings are cached for objects of one shape; callers still get their own tree."""

from __future__ import annotations

from kubeadmpy.machinery.patch.fieldpath import to_fields_v1


def test_a_cached_fields_v1_encoding_is_a_fresh_tree_each_time() -> None:
    paths = {("f:spec", "f:replicas"), ("f:metadata", "f:labels", "f:app")}
    first = to_fields_v1(paths)
    first["f:spec"]["f:tampered"] = {}
    assert to_fields_v1(set(paths)) == {"f:metadata": {"f:labels": {"f:app": {}}},
                                        "f:spec": {"f:replicas": {}}}
