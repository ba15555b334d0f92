"""FieldsV1 encoding round-trips and paths print the way upstream's conflict messages do."""

from __future__ import annotations

import pytest

from kubeadmpy.machinery.patch.fieldpath import from_fields_v1, path_string, to_fields_v1

FIELDS = {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
          "f:spec": {"f:containers": {'k:{"name":"a"}': {".": {}, "f:image": {}}},
                     "f:finalizers": {'v:"x"': {}}}}


def test_fields_v1_round_trips() -> None:
    paths = from_fields_v1(FIELDS)
    assert ("f:metadata", "f:labels") in paths
    assert ("f:spec", "f:containers", 'k:{"name":"a"}', "f:image") in paths
    assert ("f:metadata",) not in paths, "a node without '.' is not itself a member"
    assert to_fields_v1(paths) == FIELDS


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("f:data", "f:a"), ".data.a"),
        (("f:spec", "f:containers", 'k:{"name":"web"}', "f:image"),
         '.spec.containers[name="web"].image'),
        (("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}'),
         '.spec.ports[port=80,protocol="TCP"]'),
        (("f:metadata", "f:finalizers", 'v:"x"'), '.metadata.finalizers[="x"]'),
        (("f:items", "i:2"), ".items[2]"),
    ],
    ids=["fields are dotted", "list-map items show their keys", "several keys are joined",
         "set items show their value", "positional items show their index"],
)
def test_paths_print_like_upstream(path: tuple[str, ...], text: str) -> None:
    assert path_string(path) == text
