"""The protobuf wire format, read one field at a time.

Kubernetes bodies are proto2 messages written by gogo-protobuf. This module knows nothing about
Kubernetes: it splits a buffer into (field number, wire type, payload) records and converts
varint payloads into the signed/unsigned integers a field's declared type asks for. Every way a
buffer can be malformed (truncated varint, length running past the end, wire types that do not
exist or that proto2 groups use) raises `ProtobufDecodeError` naming the field path, so a bad
request body becomes a 400 and never a traceback.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from enum import IntEnum
from typing import NamedTuple

from kubeadmpy.errors import UserInputError


class ProtobufDecodeError(UserInputError):
    """A protobuf body could not be decoded; `field_path` says where (e.g. ``spec.template``)."""

    def __init__(self, message: str, field_path: str = "") -> None:
        self.message = message
        self.field_path = field_path
        super().__init__(
            field_path or "<body>",
            message,
            "Send a body encoded as application/vnd.kubernetes.protobuf for this kind, "
            "or send it as application/json",
        )


class WireType(IntEnum):
    VARINT = 0
    FIXED64 = 1
    LENGTH_DELIMITED = 2
    START_GROUP = 3
    END_GROUP = 4
    FIXED32 = 5


# The largest field number protobuf allows (2^29 - 1).
MAX_FIELD_NUMBER = (1 << 29) - 1


class WireField(NamedTuple):
    """One record of a message: varints carry an int, the other wire types their raw bytes."""

    number: int
    wire_type: WireType
    value: int | bytes


def read_varint(buf: bytes, pos: int, path: str) -> tuple[int, int]:
    """Decode the base-128 varint at `pos`; return (value, position after it)."""
    result = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise ProtobufDecodeError("truncated varint: the body ends inside a number", path)
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufDecodeError("malformed varint: longer than 10 bytes", path)


def iter_fields(buf: bytes, path: str) -> Iterator[WireField]:
    """Yield every field record of one message body, in wire order."""
    pos = 0
    end = len(buf)
    while pos < end:
        key = buf[pos]
        if key < 0x80:  # fast path: field numbers below 16 fit the key in one byte
            pos += 1
        else:
            key, pos = read_varint(buf, pos, path)
        number = key >> 3
        raw_type = key & 0x7
        if number == 0 or number > MAX_FIELD_NUMBER:
            raise ProtobufDecodeError(f"invalid field number {number}", path)
        if raw_type == WireType.VARINT:
            value, pos = read_varint(buf, pos, path)
            yield WireField(number, WireType.VARINT, value)
        elif raw_type == WireType.LENGTH_DELIMITED:
            if pos < end and buf[pos] < 0x80:
                length = buf[pos]
                pos += 1
            else:
                length, pos = read_varint(buf, pos, path)
            if length > end - pos:
                raise ProtobufDecodeError(
                    f"truncated field {number}: declares {length} bytes, {end - pos} remain", path
                )
            yield WireField(number, WireType.LENGTH_DELIMITED, buf[pos : pos + length])
            pos += length
        elif raw_type in (WireType.FIXED64, WireType.FIXED32):
            size = 8 if raw_type == WireType.FIXED64 else 4
            if size > end - pos:
                raise ProtobufDecodeError(
                    f"truncated field {number}: needs {size} bytes, {end - pos} remain", path
                )
            yield WireField(number, WireType(raw_type), buf[pos : pos + size])
            pos += size
        else:
            raise ProtobufDecodeError(
                f"field {number} uses wire type {raw_type}, which Kubernetes messages never use "
                "(groups or an invalid type)",
                path,
            )


def as_int32(value: int) -> int:
    """A varint written for int32 (negative values are sign-extended to 64 bits)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def as_int64(value: int) -> int:
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value & (1 << 63) else value


def as_uint32(value: int) -> int:
    return value & 0xFFFFFFFF


def as_uint64(value: int) -> int:
    return value & 0xFFFFFFFFFFFFFFFF


def as_double(raw: bytes) -> float:
    value: float = struct.unpack("<d", raw)[0]
    return value


def as_float(raw: bytes) -> float:
    value: float = struct.unpack("<f", raw)[0]
    return value


def iter_packed_varints(buf: bytes, path: str) -> Iterator[int]:
    """The varints of a packed repeated field (proto2 parsers must accept packed and unpacked)."""
    pos = 0
    while pos < len(buf):
        value, pos = read_varint(buf, pos, path)
        yield value


def as_text(raw: bytes) -> str:
    """A proto2 string; like Go's encoding/json, invalid UTF-8 becomes U+FFFD, not an error."""
    return raw.decode("utf-8", errors="replace")
