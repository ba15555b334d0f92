"""The wire reader: varints, lengths and wire types, and the errors for malformed input."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from protobuf_encoding import key, length_delimited, raw_varint, varint

from kubeadmpy.errors import UserInputError
from kubeadmpy.machinery.protobuf import ProtobufDecodeError
from kubeadmpy.machinery.protobuf.wire import (
    WireType,
    as_int32,
    as_int64,
    as_uint32,
    iter_fields,
    read_varint,
)


@pytest.mark.parametrize(
    ("encoded", "value"),
    [
        (b"\x00", 0),
        (b"\x01", 1),
        (b"\x7f", 127),
        (b"\x80\x01", 128),
        (b"\xac\x02", 300),
        (b"\xff\xff\xff\xff\x0f", 0xFFFFFFFF),
        (raw_varint(1 << 63), 1 << 63),
    ],
    ids=["zero", "one", "largest one-byte", "smallest two-byte", "three hundred", "uint32 max",
         "2^63 (ten bytes)"],
)
def test_varints_decode_to_their_value(encoded: bytes, value: int) -> None:
    assert read_varint(encoded, 0, "") == (value, len(encoded))


@pytest.mark.parametrize(
    ("raw", "convert", "expected"),
    [
        (raw_varint(-1), as_int32, -1),
        (raw_varint(-2147483648), as_int32, -2147483648),
        (raw_varint(2147483647), as_int32, 2147483647),
        (raw_varint(-5), as_int64, -5),
        (raw_varint(-(1 << 63)), as_int64, -(1 << 63)),
        (raw_varint(0xFFFFFFFF), as_uint32, 0xFFFFFFFF),
    ],
    ids=["int32 minus one", "int32 min", "int32 max", "int64 negative", "int64 min",
         "uint32 max"],
)
def test_negative_and_extreme_integers_are_sign_converted(
    raw: bytes, convert: Callable[[int], int], expected: int
) -> None:
    value, _ = read_varint(raw, 0, "")
    assert convert(value) == expected


def test_fields_come_out_in_wire_order_with_their_wire_types() -> None:
    body = varint(1, 5) + length_delimited(2, b"ab") + key(3, 5) + b"\x01\x02\x03\x04"
    body += key(4, 1) + b"\x00" * 8
    fields = list(iter_fields(body, ""))
    assert [(f.number, f.wire_type, f.value) for f in fields] == [
        (1, WireType.VARINT, 5),
        (2, WireType.LENGTH_DELIMITED, b"ab"),
        (3, WireType.FIXED32, b"\x01\x02\x03\x04"),
        (4, WireType.FIXED64, b"\x00" * 8),
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"\x08", "truncated varint"),
        (b"\x08\x80\x80", "truncated varint"),
        (b"\x08" + b"\xff" * 10 + b"\x01", "longer than 10 bytes"),
        (b"\x12\x05ab", "declares 5 bytes, 2 remain"),
        (b"\x12", "truncated varint"),
        (b"\x1d\x01\x02", "needs 4 bytes, 2 remain"),
        (b"\x19\x01", "needs 8 bytes, 1 remain"),
        (key(5, 3), "wire type 3"),
        (key(5, 4), "wire type 4"),
        (key(5, 6), "wire type 6"),
        (key(5, 7), "wire type 7"),
        (b"\x00\x01", "invalid field number 0"),
    ],
    ids=[
        "a body ending right after a varint key",
        "a varint cut in the middle",
        "a varint longer than ten bytes",
        "a length running past the end",
        "a length prefix cut off",
        "a fixed32 cut off",
        "a fixed64 cut off",
        "a start-group wire type",
        "an end-group wire type",
        "wire type six",
        "wire type seven",
        "field number zero",
    ],
)
def test_malformed_bodies_raise_a_decode_error_saying_what_is_wrong(body: bytes,
                                                                    problem: str) -> None:
    with pytest.raises(ProtobufDecodeError) as info:
        list(iter_fields(body, "spec.template"))
    assert problem in str(info.value)
    assert info.value.field_path == "spec.template"


def test_decode_errors_are_user_input_errors_naming_the_field() -> None:
    error = ProtobufDecodeError("truncated varint", "metadata.labels")
    assert isinstance(error, UserInputError)
    assert error.field == "metadata.labels"
    assert str(error).startswith("metadata.labels: truncated varint")
