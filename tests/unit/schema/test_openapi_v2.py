"""The gnostic protobuf encoding of /openapi/v2 follows OpenAPIv2.proto's field numbers.

The real judge is kubectl (tests/integration/openapi decode it with every kubectl 1.27-1.33);
these cases pin the wire layout of the pieces kubectl reads.
"""

from __future__ import annotations

import pytest

from kubeadmpy.machinery.schema.openapi_v2 import encode_document, encode_schema


@pytest.mark.parametrize(
    ("schema", "wire"),
    [
        pytest.param({"description": "hi"}, b"\x22\x02hi", id="description is field 4"),
        pytest.param({"$ref": "#/d/X"}, b"\x0a\x05#/d/X", id="a reference is field 1"),
        pytest.param({"type": "string"}, b"\xb2\x01\x08\x0a\x06string",
                     id="type is a TypeItem in field 22"),
        pytest.param({"required": ["a", "b"]}, b"\x9a\x01\x01a\x9a\x01\x01b",
                     id="required names repeat field 19"),
        pytest.param({"items": {"type": "integer"}},
                     b"\xba\x01\x0e\x0a\x0c\xb2\x01\x09\x0a\x07integer",
                     id="items wrap one schema in an ItemsItem (field 23)"),
        pytest.param({"properties": {"a": {}}}, b"\xca\x01\x07\x0a\x05\x0a\x01a\x12\x00",
                     id="properties are NamedSchema entries (field 25)"),
        pytest.param({"x-kubernetes-patch-strategy": "merge"},
                     b"\xfa\x01\x28\x0a\x1bx-kubernetes-patch-strategy\x12\x09\x12\x07\"merge\"",
                     id="extensions carry their value as YAML text (field 31)"),
        pytest.param({"additionalProperties": {"type": "string"}},
                     b"\xaa\x01\x0d\x0a\x0b\xb2\x01\x08\x0a\x06string",
                     id="map values are an AdditionalPropertiesItem (field 21)"),
    ],
)
def test_schema_fields(schema: dict[str, object], wire: bytes) -> None:
    assert encode_schema(schema) == wire


def test_a_document_carries_swagger_info_and_definitions() -> None:
    encoded = encode_document({"swagger": "2.0", "info": {"title": "K", "version": "v1"},
                               "definitions": {"A": {"description": "d"}}})
    assert encoded == (b"\x0a\x032.0" + b"\x12\x07\x0a\x01K\x12\x02v1"
                       + b"\x4a\x0a\x0a\x08\x0a\x01A\x12\x03\x22\x01d")
