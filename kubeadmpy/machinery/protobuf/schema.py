"""Typed view of the generated field tables.

`tables.py` is compact data (tuples) so that it stays readable as a diff when regenerated; this
module turns one message's rows into `FieldSpec` objects on first use and caches them, so the
decoder works with named attributes and a field-number index.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

from kubeadmpy.machinery.protobuf import tables
from kubeadmpy.machinery.protobuf.wire import WireType

SCALAR_TYPES: Final = frozenset({
    "string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
    "fixed32", "fixed64", "sfixed32", "sfixed64", "double", "float",
})

_VARINT_TYPES = frozenset({"bool", "int32", "int64", "uint32", "uint64", "sint32", "sint64"})
_FIXED64_TYPES = frozenset({"fixed64", "sfixed64", "double"})
_FIXED32_TYPES = frozenset({"fixed32", "sfixed32", "float"})

# Messages whose Go type prints itself in JSON in its own way (see decoder.py).
TIME: Final = "k8s.io.apimachinery.pkg.apis.meta.v1.Time"
MICRO_TIME: Final = "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime"
DURATION: Final = "k8s.io.apimachinery.pkg.apis.meta.v1.Duration"
FIELDS_V1: Final = "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1"
INT_OR_STRING: Final = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY: Final = "k8s.io.apimachinery.pkg.api.resource.Quantity"
RAW_EXTENSION: Final = "k8s.io.apimachinery.pkg.runtime.RawExtension"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a message, with what Go's encoding/json needs to print it."""

    number: int
    json_name: str
    type: str  # a name in SCALAR_TYPES, or a message full name
    omitempty: bool
    pointer: bool
    repeated: bool
    map: bool  # repeated entries of `type` (an entry message with key=1, value=2)
    inline: bool  # an embedded struct whose fields appear in the parent object
    hidden: bool  # json:"-"
    is_message: bool
    wire_type: WireType  # of one element; repeated scalars may also come packed (type 2)


@dataclass(frozen=True, slots=True)
class MessageSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    by_number: dict[int, FieldSpec]
    list_wrapper: bool  # a Go named slice: JSON is the list of its `items`

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


def expected_wire_type(type_: str) -> WireType:
    if type_ in _VARINT_TYPES:
        return WireType.VARINT
    if type_ in _FIXED64_TYPES:
        return WireType.FIXED64
    if type_ in _FIXED32_TYPES:
        return WireType.FIXED32
    return WireType.LENGTH_DELIMITED


def _field(row: tables.Row) -> FieldSpec:
    number, json_name, type_, flags = row
    return FieldSpec(
        number=number,
        json_name=json_name,
        type=type_,
        omitempty="o" in flags,
        pointer="p" in flags,
        repeated="r" in flags,
        map="m" in flags,
        inline="i" in flags,
        hidden="x" in flags,
        is_message=type_ not in SCALAR_TYPES,
        wire_type=expected_wire_type(type_),
    )


def has_message(name: str) -> bool:
    return name in tables.MESSAGES


@cache
def message(name: str) -> MessageSpec:
    """The spec of a message by full proto name; KeyError if the tables do not have it."""
    fields = tuple(_field(row) for row in tables.MESSAGES[name])
    return MessageSpec(
        name=name,
        fields=fields,
        by_number={f.number: f for f in fields},
        list_wrapper=name in tables.LIST_WRAPPERS,
    )


def message_for_kind(api_version: str, kind: str) -> str | None:
    """The message of a top-level kind; meta/v1 option kinds are accepted in every group."""
    found = tables.KINDS.get((api_version, kind))
    if found is None:
        found = tables.KINDS.get(("meta.k8s.io/v1", kind))
    return found
