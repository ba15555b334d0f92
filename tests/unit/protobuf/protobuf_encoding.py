"""Builds protobuf bytes by hand for the decoder's unit tests (an encoder is not part of the product).

Each helper returns the encoding of one field, so a test reads like the message it builds:
``message(string(1, "web"), varint(7, 3))``.
"""

from __future__ import annotations

import struct

MAGIC = b"k8s\x00"


def raw_varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative ints are written as 10-byte two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return raw_varint(number << 3 | wire_type)


def varint(number: int, value: int | bool) -> bytes:
    return key(number, 0) + raw_varint(int(value))


def length_delimited(number: int, payload: bytes) -> bytes:
    return key(number, 2) + raw_varint(len(payload)) + payload


def string(number: int, text: str) -> bytes:
    return length_delimited(number, text.encode())


def fixed64(number: int, payload: bytes) -> bytes:
    assert len(payload) == 8
    return key(number, 1) + payload


def fixed32(number: int, payload: bytes) -> bytes:
    assert len(payload) == 4
    return key(number, 5) + payload


def double(number: int, value: float) -> bytes:
    return fixed64(number, struct.pack("<d", value))


def message(*fields: bytes) -> bytes:
    return b"".join(fields)


def nested(number: int, *fields: bytes) -> bytes:
    return length_delimited(number, message(*fields))


def map_entry(number: int, map_key: str, value: bytes | str) -> bytes:
    encoded_value = value.encode() if isinstance(value, str) else value
    return nested(number, string(1, map_key), length_delimited(2, encoded_value))


def envelope(api_version: str, kind: str, raw: bytes, content_type: str = "") -> bytes:
    type_meta = nested(1, string(1, api_version), string(2, kind))
    body = type_meta + length_delimited(2, raw)
    if content_type:
        body += string(4, content_type)
    return MAGIC + body


# Bodies captured from kubectl 1.33.1 (`create deployment web --image=nginx:1.25 --replicas=3
# --port=8080` and `create configmap app --from-literal=a=1 --from-literal=b=2
# --from-literal=c=3`), base64.
KUBECTL_BODIES = {
    "deployment": (
        "azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50Er4BCh8KA3dlYhIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEowB"
        "CAMSDAoKCgNhcHASA3dlYhpyChwKABIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViElISNAoFbmdpbngSCm5naW54"
        "OjEuMjUqADILCgAQABiQPyIAKgBCAGoAcgCAAQCIAQCQAQCiAQAaADIAQgBKAFIAWABgAGgAggEAigEAmgEAwgEA"
        "IgIKACgAOAAaDAgAEAAYACAAKAA4ABoAIgA="
    ),
    "configmap": (
        "azhzAAoPCgJ2MRIJQ29uZmlnTWFwEi0KEwoDYXBwEgAaACIAKgAyADgAQgASBgoBYRIBMRIGCgFiEgEyEgYKAWMS"
        "ATMaACIA"
    ),
}
