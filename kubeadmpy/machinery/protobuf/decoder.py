"""Decode one protobuf message into the JSON object Go would print for it.

The result is what `encoding/json` prints for the Go struct that the real API server's gogo
decoder would fill from the same bytes — so a body sent as protobuf reaches the rest of the server
in the same form as one sent as JSON by an older kubectl. The rules that follow from that:

* non-pointer scalars are always on the wire: a zero value is dropped when the JSON tag has
  ``omitempty`` and kept (``""``, ``0``, ``false``) otherwise;
* pointer scalars are on the wire only when set: kept whenever present, even when zero
  (``replicas: 0``, ``automountServiceAccountToken: false``);
* messages: pointers only when present; value structs always (absent ones print as their zero
  value, e.g. ``"status": {}``); embedded ``json:",inline"`` structs merge into the parent;
* lists and maps: empty ones are dropped with ``omitempty``, else printed as ``null`` (Go's nil);
* types with their own JSON form: Time/MicroTime (RFC 3339, ``null`` when zero), Duration
  (``"1h0m0s"``), IntOrString, Quantity (its string), RawExtension/FieldsV1 (embedded JSON), bytes
  (base64);
* a field number the schema does not know is an error naming the message and the number.

Keys come out in Go's order too (struct field order, sorted map keys): serialised, the result
lists its keys exactly as encoding/json prints the same object.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from kubeadmpy.machinery.protobuf import schema
from kubeadmpy.machinery.protobuf.schema import FieldSpec, expected_wire_type
from kubeadmpy.machinery.protobuf.wire import (
    ProtobufDecodeError,
    WireField,
    WireType,
    as_double,
    as_float,
    as_int32,
    as_int64,
    as_text,
    as_uint32,
    as_uint64,
    iter_fields,
    iter_packed_varints,
)

# Nesting beyond this is not a real object (RawExtensions inside RawExtensions...).
MAX_DEPTH = 64


# resource.Quantity grammar: <signedNumber><suffix>, suffix binarySI | decimalSI | exponent.
_QUANTITY = re.compile(
    r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?"
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _join(path: str, name: str) -> str:
    if not name:
        return path
    return f"{path}.{name}" if path else name


def decode_message(name: str, buf: bytes, path: str = "", depth: int = 0) -> Any:
    """Decode `buf` as the message `name` (a full proto name) into a JSON-style value."""
    if depth > MAX_DEPTH:
        raise ProtobufDecodeError(f"messages nested deeper than {MAX_DEPTH} levels", path)
    custom = _CUSTOM_JSON.get(name)
    if custom is not None:
        return custom(buf, path, depth)
    if not schema.has_message(name):
        raise ProtobufDecodeError(f"no protobuf schema for message {name}", path)
    spec = schema.message(name)
    collected = _collect(spec, buf, path)
    if spec.list_wrapper:
        items = spec.fields[0]
        return _repeated_values(items, collected.get(items.number, []), path, depth) or None
    out: dict[str, Any] = {}
    for field in spec.fields:
        if field.hidden:
            continue
        wires = collected.get(field.number)
        if wires is None and (field.pointer or field.omitempty) and not field.is_message:
            continue  # the common case, kept cheap: an unset optional scalar, list or map
        value = _field_value(field, wires or [], _join(path, field.json_name), depth)
        if value is _OMIT:
            continue
        if field.inline:
            if isinstance(value, dict):
                for key, item in value.items():
                    out.setdefault(key, item)
            continue
        out[field.json_name] = value
    return out


class _Omit:
    """Marker: the field does not appear in the JSON object."""


_OMIT: Any = _Omit()


def _collect(spec: schema.MessageSpec, buf: bytes, path: str) -> dict[int, list[WireField]]:
    collected: dict[int, list[WireField]] = {}
    for wire in iter_fields(buf, path):
        field = spec.by_number.get(wire.number)
        if field is None:
            raise ProtobufDecodeError(
                f"unknown field number {wire.number} (wire type {int(wire.wire_type)}) "
                f"in message {spec.short_name}",
                path,
            )
        expected = field.wire_type
        packed = field.repeated and wire.wire_type == WireType.LENGTH_DELIMITED
        if wire.wire_type != expected and not packed:
            raise ProtobufDecodeError(
                f"field {wire.number} ({field.json_name or field.type}) of message "
                f"{spec.short_name} has wire type {int(wire.wire_type)}, "
                f"expected {int(expected)} for {field.type}",
                _join(path, field.json_name),
            )
        collected.setdefault(wire.number, []).append(wire)
    return collected


def _field_value(field: FieldSpec, wires: list[WireField], path: str, depth: int) -> Any:
    if field.map:
        entries = _map_value(field, wires, path, depth)
        if entries:
            return entries
        return _OMIT if field.omitempty else None
    if field.repeated:
        items = _repeated_values(field, wires, path, depth)
        if items:
            return items
        return _OMIT if field.omitempty else None
    if field.is_message:
        if not wires and field.pointer:
            return _OMIT
        # Repeated occurrences of a message field merge; concatenated encodings do exactly that.
        payload = b"".join(w.value for w in wires if isinstance(w.value, bytes))
        return decode_message(field.type, payload, path, depth + 1)
    if field.type == "bytes":
        if not wires:
            return _OMIT if field.omitempty else None
        raw = wires[-1].value
        assert isinstance(raw, bytes)
        if not raw and field.omitempty:
            return _OMIT
        return base64.b64encode(raw).decode("ascii")
    if not wires:
        if field.pointer or field.omitempty:
            return _OMIT
        return _zero(field.type)
    value = decode_scalar(field.type, wires[-1], path)
    if not field.pointer and field.omitempty and not value:
        return _OMIT
    return value


def _repeated_values(field: FieldSpec, wires: list[WireField], path: str, depth: int) -> list[Any]:
    items: list[Any] = []
    for wire in wires:
        item_path = f"{path}[{len(items)}]"
        if field.is_message:
            assert isinstance(wire.value, bytes)
            items.append(decode_message(field.type, wire.value, item_path, depth + 1))
        elif field.type in ("string", "bytes"):
            items.append(decode_scalar(field.type, wire, item_path))
        elif wire.wire_type == WireType.LENGTH_DELIMITED:
            assert isinstance(wire.value, bytes)
            items += _packed(field.type, wire.value, item_path)
        else:
            items.append(decode_scalar(field.type, wire, item_path))
    return items


def _packed(type_: str, buf: bytes, path: str) -> list[Any]:
    wire_type = expected_wire_type(type_)
    if wire_type == WireType.VARINT:
        return [decode_scalar(type_, WireField(0, wire_type, v), path)
                for v in iter_packed_varints(buf, path)]
    size = 8 if wire_type == WireType.FIXED64 else 4
    if len(buf) % size:
        raise ProtobufDecodeError(f"packed {type_} list of {len(buf)} bytes is truncated", path)
    return [decode_scalar(type_, WireField(0, wire_type, buf[i : i + size]), path)
            for i in range(0, len(buf), size)]


def _map_value(field: FieldSpec, wires: list[WireField], path: str, depth: int) -> dict[str, Any]:
    entry = schema.message(field.type)
    key_spec, value_spec = entry.by_number[1], entry.by_number[2]
    out: dict[str, Any] = {}
    for wire in wires:
        assert isinstance(wire.value, bytes)
        collected = _collect(entry, wire.value, path)
        keys = collected.get(1, [])
        key = decode_scalar(key_spec.type, keys[-1], path) if keys else _zero(key_spec.type)
        values = collected.get(2, [])
        item_path = f"{path}[{key}]"
        if value_spec.is_message:
            payload = b"".join(w.value for w in values if isinstance(w.value, bytes))
            out[str(key)] = decode_message(value_spec.type, payload, item_path, depth + 1)
        elif value_spec.type == "bytes":
            raw = values[-1].value if values else b""
            assert isinstance(raw, bytes)
            out[str(key)] = base64.b64encode(raw).decode("ascii")
        else:
            out[str(key)] = (decode_scalar(value_spec.type, values[-1], item_path) if values
                             else _zero(value_spec.type))
    return dict(sorted(out.items()))  # encoding/json prints map keys sorted


def _zero(type_: str) -> Any:
    if type_ == "string":
        return ""
    if type_ == "bool":
        return False
    if type_ in ("double", "float"):
        return 0.0
    return 0


def decode_scalar(type_: str, wire: WireField, path: str) -> Any:
    value = wire.value
    if isinstance(value, int):
        return _VARINT_CONVERTERS[type_](value)
    if type_ == "string":
        return as_text(value)
    if type_ == "bytes":
        return base64.b64encode(value).decode("ascii")
    if type_ in ("double", "float"):
        number = as_double(value) if type_ == "double" else as_float(value)
        if math.isnan(number) or math.isinf(number):
            raise ProtobufDecodeError(f"{number} cannot be represented in JSON", path)
        return number
    signed = type_.startswith("s")
    return int.from_bytes(value, "little", signed=signed)


_VARINT_CONVERTERS: dict[str, Callable[[int], Any]] = {
    "bool": lambda v: v != 0,
    "int32": as_int32,
    "int64": as_int64,
    "uint32": as_uint32,
    "uint64": as_uint64,
    "sint32": lambda v: (as_uint32(v) >> 1) ^ -(v & 1),
    "sint64": lambda v: (as_uint64(v) >> 1) ^ -(v & 1),
}


# ---------------------------------------------------------------------------------------------
# Types with their own JSON form


def _fields_of(name: str, buf: bytes, path: str) -> dict[int, Any]:
    """Last value of each field of a small custom message (Time, IntOrString, ...)."""
    spec = schema.message(name)
    values: dict[int, Any] = {}
    for number, wires in _collect(spec, buf, path).items():
        values[number] = decode_scalar(spec.by_number[number].type, wires[-1], path)
    return values


def _timestamp(buf: bytes, path: str, name: str) -> datetime | None:
    # metav1.Time marshals a zero time as an empty message; seconds=0 is 1970, not zero.
    if not buf:
        return None
    values = _fields_of(name, buf, path)
    seconds, nanos = values.get(1, 0), values.get(2, 0)
    try:
        return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError as exc:
        raise ProtobufDecodeError(f"time {seconds}s is outside years 1-9999", path) from exc


def _format_time(moment: datetime, micro: bool) -> str:
    text = (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")
    if micro:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


def _time(buf: bytes, path: str, depth: int) -> str | None:
    moment = _timestamp(buf, path, schema.TIME)
    return None if moment is None else _format_time(moment, micro=False)


def _micro_time(buf: bytes, path: str, depth: int) -> str | None:
    moment = _timestamp(buf, path, schema.MICRO_TIME)
    return None if moment is None else _format_time(moment, micro=True)


def _duration(buf: bytes, path: str, depth: int) -> str:
    return go_duration_string(_fields_of(schema.DURATION, buf, path).get(1, 0))


def go_duration_string(nanoseconds: int) -> str:
    """Go's time.Duration.String(): "1h2m3.5s", "1.5ms", "0s"."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    size = abs(nanoseconds)
    if size < 1_000:
        return f"{sign}{size}ns"
    if size < 1_000_000:
        return f"{sign}{_decimal(size, 3)}µs"
    if size < 1_000_000_000:
        return f"{sign}{_decimal(size, 6)}ms"
    whole_seconds, fraction = divmod(size, 1_000_000_000)
    hours, rest = divmod(whole_seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = _decimal(seconds * 1_000_000_000 + fraction, 9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _decimal(value: int, digits: int) -> str:
    whole, fraction = divmod(value, 10**digits)
    tail = f"{fraction:0{digits}d}".rstrip("0")
    return f"{whole}.{tail}" if tail else str(whole)


def _int_or_string(buf: bytes, path: str, depth: int) -> int | str:
    values = _fields_of(schema.INT_OR_STRING, buf, path)
    kind = values.get(1, 0)
    if kind == 0:
        int_value: int = values.get(2, 0)
        return int_value
    if kind == 1:
        str_value: str = values.get(3, "")
        return str_value
    raise ProtobufDecodeError(f"IntOrString type {kind} is neither 0 (int) nor 1 (string)", path)


def _quantity(buf: bytes, path: str, depth: int) -> str:
    text: str = _fields_of(schema.QUANTITY, buf, path).get(1, "")
    if not text:
        return "0"
    if not _QUANTITY.fullmatch(text):
        raise ProtobufDecodeError(
            f"quantity {text!r} does not match '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            path,
        )
    return text


def _embedded_json(raw: bytes | None, path: str, depth: int) -> Any:
    if not raw:
        return None
    from kubeadmpy.machinery.protobuf import envelope  # envelope imports this module

    if raw.startswith(envelope.MAGIC):
        return envelope.decode_envelope(raw, path, depth + 1)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ProtobufDecodeError(f"embedded object is neither JSON nor protobuf: {exc}",
                                  path) from exc


def _raw_extension(buf: bytes, path: str, depth: int) -> Any:
    return _embedded_json(_raw_bytes(schema.RAW_EXTENSION, buf, path), path, depth)


def _fields_v1(buf: bytes, path: str, depth: int) -> Any:
    return _embedded_json(_raw_bytes(schema.FIELDS_V1, buf, path), path, depth)


def _raw_bytes(name: str, buf: bytes, path: str) -> bytes | None:
    wires = _collect(schema.message(name), buf, path).get(1, [])
    if not wires:
        return None
    value = wires[-1].value
    assert isinstance(value, bytes)
    return value


_CUSTOM_JSON: dict[str, Callable[[bytes, str, int], Any]] = {
    schema.TIME: _time,
    schema.MICRO_TIME: _micro_time,
    schema.DURATION: _duration,
    schema.INT_OR_STRING: _int_or_string,
    schema.QUANTITY: _quantity,
    schema.RAW_EXTENSION: _raw_extension,
    schema.FIELDS_V1: _fields_v1,
}
