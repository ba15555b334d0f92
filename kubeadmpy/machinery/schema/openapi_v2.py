"""`/openapi/v2` as gnostic protobuf: the Swagger 2.0 document kubectl 1.27/1.28 download first.

kubectl decodes `/openapi/v2` only as protobuf (`openapi_v2.Document` from google/gnostic), so
the Swagger JSON built in `openapi.py` is written out here in that message layout: definitions
with their properties, types, refs, descriptions and `x-kubernetes-*` extensions (extension
values travel as YAML text; JSON is valid YAML). With it `kubectl explain
--output=plaintext-openapiv2` and v2-based patch metadata work like against a real server.
Field numbers are those of gnostic's OpenAPIv2.proto; proto3 rules: empty values are omitted.
"""

from __future__ import annotations

import json
from typing import Any


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _string(field: int, text: str) -> bytes:
    return _bytes(field, text.encode()) if text else b""


def _bool(field: int, value: bool) -> bytes:
    return _varint(field << 3) + b"\x01" if value else b""


def _named(field: int, name: str, value: bytes) -> bytes:
    """A NamedX entry (name = 1, value = 2) in a repeated field."""
    return _bytes(field, _string(1, name) + _bytes(2, value))


def _extension(name: str, value: Any) -> bytes:
    """NamedAny with Any{yaml = 2} carrying the value's YAML (here: JSON) text."""
    return _named(31, name, _string(2, json.dumps(value)))


# Schema message fields (gnostic openapi_v2.Schema).
_REF, _FORMAT, _TITLE, _DESCRIPTION = 1, 2, 3, 4
_UNIQUE_ITEMS, _REQUIRED, _ADDITIONAL, _TYPE, _ITEMS, _ALL_OF, _PROPERTIES = (
    16, 19, 21, 22, 23, 24, 25)
_DISCRIMINATOR, _READ_ONLY = 26, 27


def encode_schema(schema: dict[str, Any]) -> bytes:
    """One Swagger 2.0 schema object as an `openapi_v2.Schema` message."""
    out = bytearray()
    out += _string(_REF, schema.get("$ref", ""))
    out += _string(_FORMAT, schema.get("format", ""))
    out += _string(_TITLE, schema.get("title", ""))
    out += _string(_DESCRIPTION, schema.get("description", ""))
    out += _bool(_UNIQUE_ITEMS, bool(schema.get("uniqueItems")))
    for name in schema.get("required", ()):
        out += _string(_REQUIRED, name)
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        out += _bytes(_ADDITIONAL, _bytes(1, encode_schema(additional)))
    elif isinstance(additional, bool):
        out += _bytes(_ADDITIONAL, _varint(2 << 3) + (b"\x01" if additional else b"\x00"))
    declared = schema.get("type")
    if declared:
        kinds = [declared] if isinstance(declared, str) else list(declared)
        out += _bytes(_TYPE, b"".join(_string(1, kind) for kind in kinds))
    items = schema.get("items")
    if isinstance(items, dict):
        out += _bytes(_ITEMS, _bytes(1, encode_schema(items)))
    for part in schema.get("allOf", ()):
        out += _bytes(_ALL_OF, encode_schema(part))
    properties = schema.get("properties")
    if properties:
        out += _bytes(_PROPERTIES, b"".join(
            _named(1, name, encode_schema(prop)) for name, prop in properties.items()))
    out += _string(_DISCRIMINATOR, schema.get("discriminator", ""))
    out += _bool(_READ_ONLY, bool(schema.get("readOnly")))
    for key, value in schema.items():
        if key.startswith("x-"):
            out += _extension(key, value)
    return bytes(out)


def encode_document(document: dict[str, Any]) -> bytes:
    """A Swagger 2.0 document (swagger, info, definitions) as `openapi_v2.Document`."""
    info = document.get("info", {})
    out = bytearray()
    out += _string(1, document.get("swagger", "2.0"))
    out += _bytes(2, _string(1, info.get("title", "")) + _string(2, info.get("version", "")))
    definitions = document.get("definitions", {})
    if definitions:
        out += _bytes(9, b"".join(_named(1, name, encode_schema(schema))
                                  for name, schema in definitions.items()))
    return bytes(out)
