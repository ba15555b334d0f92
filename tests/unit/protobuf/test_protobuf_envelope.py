"""The k8s\\0 + runtime.Unknown envelope and `decode_k8s_protobuf`, the server's entry point."""

from __future__ import annotations

import pytest
from protobuf_encoding import MAGIC, envelope, length_delimited, map_entry, nested, string, varint

from kubeadmpy.machinery.protobuf import ProtobufDecodeError, decode_k8s_protobuf
from kubeadmpy.machinery.protobuf.envelope import parse_envelope


def test_an_envelope_splits_into_type_meta_raw_and_content_fields() -> None:
    body = envelope("apps/v1", "Deployment", b"\x0a\x00", content_type="x/y")
    unknown = parse_envelope(body)
    assert (unknown.api_version, unknown.kind, unknown.raw, unknown.content_type) == (
        "apps/v1", "Deployment", b"\x0a\x00", "x/y")


def test_a_config_map_body_decodes_with_kind_and_api_version_first() -> None:
    raw = nested(1, string(1, "cm")) + map_entry(2, "k", "v")
    obj = decode_k8s_protobuf(envelope("v1", "ConfigMap", raw))
    assert obj == {"kind": "ConfigMap", "apiVersion": "v1",
                   "metadata": {"name": "cm", "creationTimestamp": None}, "data": {"k": "v"}}
    assert list(obj)[:2] == ["kind", "apiVersion"]


def test_meta_kinds_are_accepted_under_any_group_version() -> None:
    body = envelope("v1", "DeleteOptions", varint(1, 0) + string(4, "Foreground"))
    assert decode_k8s_protobuf(body) == {
        "kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
        "propagationPolicy": "Foreground"}


def test_json_inside_the_envelope_is_passed_through() -> None:
    body = envelope("v1", "ConfigMap", b'{"metadata":{"name":"j"}}',
                    content_type="application/json")
    assert decode_k8s_protobuf(body) == {"kind": "ConfigMap", "apiVersion": "v1",
                                         "metadata": {"name": "j"}}


@pytest.mark.parametrize(
    ("body", "problem", "field_path"),
    [
        (b"", "expected the magic prefix", "<body>"),
        (b'{"kind":"ConfigMap"}', "got 7b 22 6b 69", "<body>"),
        (MAGIC + b"\x0a\x05ab", "declares 5 bytes", "<body>"),
        (MAGIC + varint(1, 3), "wire type 0, expected 2", "<body>"),
        (MAGIC + string(9, "x"), "unknown field number 9 in message Unknown", "<body>"),
        (envelope("v1", "", b""), "names no kind", "kind"),
        (envelope("v1", "Frobnicator", b""), "no protobuf schema for kind 'Frobnicator'", "kind"),
        (MAGIC + nested(1, string(1, "v1"), string(2, "ConfigMap")) + string(3, "gzip"),
         "content encoding 'gzip'", "contentEncoding"),
        (envelope("v1", "ConfigMap", b"", content_type="application/yaml"),
         "content type 'application/yaml'", "contentType"),
        (envelope("v1", "ConfigMap", length_delimited(7, b"")), "unknown field number 7", "<body>"),
    ],
    ids=[
        "an empty body",
        "a JSON body sent with the protobuf content type",
        "a truncated envelope",
        "typeMeta with the wrong wire type",
        "an unknown envelope field",
        "no kind",
        "a kind without a schema",
        "a compressed object",
        "a foreign content type inside",
        "an unknown field inside the object",
    ],
)
def test_bad_bodies_raise_errors_naming_the_problem_and_the_field(
    body: bytes, problem: str, field_path: str
) -> None:
    with pytest.raises(ProtobufDecodeError) as info:
        decode_k8s_protobuf(body)
    assert problem in str(info.value)
    assert str(info.value).startswith(f"{field_path}: ")
