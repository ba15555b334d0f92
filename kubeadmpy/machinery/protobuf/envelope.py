"""The Kubernetes protobuf envelope: ``k8s\\x00`` followed by a `runtime.Unknown` message.

`runtime.Unknown` carries the object's typeMeta {1: apiVersion, 2: kind} (note: the reverse of
the field order inside objects), the object's own message bytes in `raw`, and a content encoding
and type that Kubernetes leaves empty for protobuf. The envelope names the kind, which selects the
message schema for `raw`; the decoded object gets ``kind`` and ``apiVersion`` back on top, as a
JSON body would carry them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubeadmpy.machinery.protobuf import decoder, schema
from kubeadmpy.machinery.protobuf.wire import ProtobufDecodeError, WireType, as_text, iter_fields

MAGIC = b"k8s\x00"
PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


@dataclass(frozen=True, slots=True)
class Unknown:
    """runtime.Unknown: an object of a named kind whose bytes are not decoded yet."""

    api_version: str
    kind: str
    raw: bytes
    content_encoding: str
    content_type: str


def parse_envelope(body: bytes, path: str = "") -> Unknown:
    """Check the magic prefix and split the runtime.Unknown into its parts."""
    if not body.startswith(MAGIC):
        shown = body[:4].hex(" ") if body else "an empty body"
        raise ProtobufDecodeError(
            f"not a Kubernetes protobuf body: expected the magic prefix 6b 38 73 00 ('k8s\\0'), "
            f"got {shown}",
            path,
        )
    strings = {3: "", 4: ""}
    type_meta = b""
    raw = b""
    for wire in iter_fields(body[len(MAGIC) :], path):
        if wire.number > 4:
            raise ProtobufDecodeError(f"unknown field number {wire.number} in message Unknown",
                                      path)
        if wire.wire_type != WireType.LENGTH_DELIMITED or not isinstance(wire.value, bytes):
            raise ProtobufDecodeError(
                f"field {wire.number} of message Unknown has wire type {int(wire.wire_type)}, "
                "expected 2",
                path,
            )
        if wire.number == 1:
            type_meta += wire.value
        elif wire.number == 2:
            raw = wire.value
        else:
            strings[wire.number] = as_text(wire.value)
    api_version, kind = "", ""
    for wire in iter_fields(type_meta, _join(path, "typeMeta")):
        if wire.number not in (1, 2):
            raise ProtobufDecodeError(f"unknown field number {wire.number} in message TypeMeta",
                                      _join(path, "typeMeta"))
        if not isinstance(wire.value, bytes):
            raise ProtobufDecodeError(
                f"field {wire.number} of message TypeMeta has wire type {int(wire.wire_type)}, "
                "expected 2",
                _join(path, "typeMeta"),
            )
        if wire.number == 1:
            api_version = as_text(wire.value)
        else:
            kind = as_text(wire.value)
    return Unknown(api_version, kind, raw, strings[3], strings[4])


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def decode_envelope(body: bytes, path: str = "", depth: int = 0) -> dict[str, Any]:
    """Decode a whole body (or an embedded object) into a JSON-style object."""
    unknown = parse_envelope(body, path)
    if not unknown.kind:
        raise ProtobufDecodeError("the envelope names no kind (typeMeta.kind is empty)",
                                  _join(path, "kind"))
    if unknown.content_encoding:
        raise ProtobufDecodeError(
            f"content encoding {unknown.content_encoding!r} is not supported; send the raw "
            "object uncompressed",
            _join(path, "contentEncoding"),
        )
    if unknown.content_type not in ("", PROTOBUF_CONTENT_TYPE):
        if unknown.content_type.split(";")[0].strip() == "application/json":
            return _json_object(unknown, path)
        raise ProtobufDecodeError(
            f"content type {unknown.content_type!r} inside the envelope is not supported",
            _join(path, "contentType"),
        )
    message = schema.message_for_kind(unknown.api_version, unknown.kind)
    if message is None:
        raise ProtobufDecodeError(
            f"no protobuf schema for kind {unknown.kind!r} in apiVersion "
            f"{unknown.api_version!r}",
            _join(path, "kind"),
        )
    decoded = decoder.decode_message(message, unknown.raw, path, depth)
    if not isinstance(decoded, dict):
        raise ProtobufDecodeError(f"kind {unknown.kind} does not decode to an object", path)
    obj: dict[str, Any] = {"kind": unknown.kind}
    if unknown.api_version:
        obj["apiVersion"] = unknown.api_version
    obj.update(decoded)
    return obj


def _json_object(unknown: Unknown, path: str) -> dict[str, Any]:
    try:
        obj = json.loads(unknown.raw)
    except (ValueError, RecursionError) as exc:
        raise ProtobufDecodeError(f"raw JSON inside the envelope is invalid: {exc}",
                                  path) from exc
    if not isinstance(obj, dict):
        raise ProtobufDecodeError("raw JSON inside the envelope is not an object", path)
    obj.setdefault("kind", unknown.kind)
    if unknown.api_version:
        obj.setdefault("apiVersion", unknown.api_version)
    return obj


def decode_k8s_protobuf(body: bytes) -> dict[str, Any]:
    """Decode an ``application/vnd.kubernetes.protobuf`` request body.

    Returns the JSON object (with ``kind`` and ``apiVersion``) that Go's encoding/json prints for
    the object the real API server would decode; raises `ProtobufDecodeError` (a
    `UserInputError`, naming the field path) for anything malformed or unknown.
    """
    return decode_envelope(body)
