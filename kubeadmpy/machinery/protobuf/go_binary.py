"""Facts read out of a compiled Go binary: protobuf descriptors and Go struct types.

gogo-protobuf registers every generated.proto as a gzipped ``FileDescriptorProto`` inside the
binary, and Go keeps reflection data (field names, struct tags, kinds) for every type that can be
reflected on — which includes every Kubernetes API struct, since all are registered in a scheme.
`gen_tables` joins the two; this module only reads them. The Go layout is the one of Go 1.21–1.24
(internal/abi.Type) in a 64-bit little-endian ELF file.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.machinery.protobuf.wire import iter_fields


class GenerationError(KubeadmpyError):
    """The binary does not contain what the table generator expects (a development-time error)."""


_GZIP_MAGIC = b"\x1f\x8b\x08\x00\x00\x00\x00\x00"

# FieldDescriptorProto.Type → our scalar names (messages keep their full name).
_PROTO_SCALARS = {
    1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32",
    8: "bool", 9: "string", 12: "bytes", 13: "uint32", 15: "sfixed32", 16: "sfixed64",
    17: "sint32", 18: "sint64",
}
_TYPE_MESSAGE = 11
_LABEL_REPEATED = 3

# Go reflect kinds (internal/abi.Kind).
GO_MAP, GO_POINTER, _GO_SLICE, _GO_STRUCT, _GO_ARRAY = 21, 22, 23, 25, 17


# ---------------------------------------------------------------------------------------------
# Proto descriptors


@dataclass
class ProtoField:
    name: str
    number: int
    repeated: bool
    type: str  # scalar name or message full name (no leading dot)


@dataclass
class ProtoMessage:
    full_name: str
    fields: list[ProtoField] = field(default_factory=list)
    map_entry: bool = False


def _varint_fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    for wire in iter_fields(buf, "descriptor"):
        yield wire.number, wire.value


def _parse_message(buf: bytes, scope: str, out: dict[str, ProtoMessage]) -> None:
    name = ""
    fields: list[ProtoField] = []
    nested: list[bytes] = []
    map_entry = False
    for number, value in _varint_fields(buf):
        if number == 1 and isinstance(value, bytes):
            name = value.decode()
        elif number == 2 and isinstance(value, bytes):
            fields.append(_parse_field(value))
        elif number == 3 and isinstance(value, bytes):
            nested.append(value)
        elif number == 7 and isinstance(value, bytes):
            map_entry = any(n == 7 and v == 1 for n, v in _varint_fields(value))
    full_name = f"{scope}.{name}"
    out[full_name] = ProtoMessage(full_name, fields, map_entry)
    for child in nested:
        _parse_message(child, full_name, out)


def _parse_field(buf: bytes) -> ProtoField:
    values: dict[int, int | bytes] = {}
    for key, value in _varint_fields(buf):
        values[key] = value
    proto_type = values.get(5)
    label = values.get(4)
    name = values.get(1)
    number = values.get(3)
    if not isinstance(proto_type, int) or not isinstance(name, bytes) or not isinstance(number, int):
        raise GenerationError(f"malformed field descriptor {values}")
    if proto_type == _TYPE_MESSAGE:
        type_name = values.get(6)
        if not isinstance(type_name, bytes):
            raise GenerationError(f"message field {name!r} without type name")
        type_ = type_name.decode().lstrip(".")
    elif proto_type in _PROTO_SCALARS:
        type_ = _PROTO_SCALARS[proto_type]
    else:
        raise GenerationError(f"field {name!r} has unsupported proto type {proto_type}")
    return ProtoField(name.decode(), number, label == _LABEL_REPEATED, type_)


def read_descriptors(binary: bytes) -> dict[str, tuple[str, list[str], dict[str, ProtoMessage]]]:
    """Every k8s.io proto file in the binary: name → (package, dependencies, messages)."""
    files: dict[str, tuple[str, list[str], dict[str, ProtoMessage]]] = {}
    for match in re.finditer(re.escape(_GZIP_MAGIC), binary):
        try:
            raw = zlib.decompressobj(31).decompress(binary[match.start() : match.start() + 4_000_000])
        except zlib.error:
            continue
        if not raw.startswith(b"\n") or b"k8s.io/" not in raw[:80]:
            continue
        name, package = "", ""
        deps: list[str] = []
        messages: dict[str, ProtoMessage] = {}
        try:
            for number, value in _varint_fields(raw):
                if number == 1 and isinstance(value, bytes):
                    name = value.decode()
                elif number == 2 and isinstance(value, bytes):
                    package = value.decode()
                elif number == 3 and isinstance(value, bytes):
                    deps.append(value.decode())
                elif number == 4 and isinstance(value, bytes):
                    _parse_message(value, package, messages)
        except Exception:  # not a descriptor after all (gzip data of something else)
            continue
        if name.startswith("k8s.io/") and name.endswith("generated.proto"):
            files[name] = (package, deps, messages)
    return files


# ---------------------------------------------------------------------------------------------
# Go reflection data


@dataclass(frozen=True)
class GoField:
    name: str
    tag: str
    embedded: bool
    kind: int
    type_name: str


class GoTypes:
    """Named struct types of a 64-bit ELF Go binary, keyed "<import path>|<pkg>.<Type>"."""

    def __init__(self, binary: bytes) -> None:
        self.data = binary
        self.sections = self._sections()
        self.types_base = self.sections[".rodata"][0]
        self.structs: dict[str, list[GoField]] = {}
        self._walk()

    def _sections(self) -> dict[str, tuple[int, int, int]]:
        data = self.data
        if data[:5] != b"\x7fELF\x02":
            raise GenerationError("not a 64-bit ELF binary")
        shoff = struct.unpack_from("<Q", data, 0x28)[0]
        entsize, count, strndx = struct.unpack_from("<HHH", data, 0x3A)
        headers = [struct.unpack_from("<IIQQQQ", data, shoff + i * entsize) for i in range(count)]
        names_offset = headers[strndx][4]
        sections = {}
        for name_off, _type, _flags, addr, offset, size in headers:
            end = data.index(b"\0", names_offset + name_off)
            sections[data[names_offset + name_off : end].decode()] = (addr, offset, size)
        return sections

    def _offset(self, address: int) -> int:
        for name, (addr, offset, size) in self.sections.items():
            if addr and addr <= address < addr + size and name not in (".bss", ".noptrbss"):
                return offset + address - addr
        raise GenerationError(f"address {address:#x} is in no file-backed section")

    def _u64(self, address: int) -> int:
        value: int = struct.unpack_from("<Q", self.data, self._offset(address))[0]
        return value

    def _i32(self, address: int) -> int:
        value: int = struct.unpack_from("<i", self.data, self._offset(address))[0]
        return value

    def _u8(self, address: int) -> int:
        return self.data[self._offset(address)]

    def _name(self, address: int) -> tuple[int, str, str]:
        """abi.Name: flags byte, varint length + bytes, then (if flag 2) varint length + tag."""
        pos = self._offset(address)
        flags = self.data[pos]
        length, pos = _go_varint(self.data, pos + 1)
        text = self.data[pos : pos + length].decode()
        pos += length
        tag = ""
        if flags & 2:
            tag_length, pos = _go_varint(self.data, pos)
            tag = self.data[pos : pos + tag_length].decode()
        return flags, text, tag

    def _type_string(self, type_address: int) -> str:
        _, text, _ = self._name(self.types_base + self._i32(type_address + 40))
        return text[1:] if self._u8(type_address + 20) & 2 else text  # TFlagExtraStar

    def _walk(self) -> None:
        _, offset, size = self.sections[".typelink"]
        pending = [
            self.types_base + struct.unpack_from("<i", self.data, offset + 4 * i)[0]
            for i in range(size // 4)
        ]
        # Types stored in interfaces (every API kind, as runtime.Object) are reached via itabs.
        _, offset, size = self.sections[".itablink"]
        for index in range(size // 8):
            itab = struct.unpack_from("<Q", self.data, offset + 8 * index)[0]
            pending.append(self._u64(itab + 8))
        seen: set[int] = set()
        while pending:
            type_address = pending.pop()
            if type_address in seen:
                continue
            seen.add(type_address)
            kind = self._u8(type_address + 23) & 0x1F
            ptr_to_this = self._i32(type_address + 44)
            if ptr_to_this > 0:
                pending.append(self.types_base + ptr_to_this)
            if kind in (GO_POINTER, _GO_SLICE, _GO_ARRAY):
                pending.append(self._u64(type_address + 48))
            elif kind == GO_MAP:
                pending += [self._u64(type_address + 48), self._u64(type_address + 56)]
            elif kind == _GO_STRUCT:
                pending += self._read_struct(type_address)

    def _read_struct(self, type_address: int) -> list[int]:
        fields_address = self._u64(type_address + 56)
        count = self._u64(type_address + 64)
        fields, field_types = [], []
        for index in range(count):
            entry = fields_address + 24 * index
            flags, name, tag = self._name(self._u64(entry))
            field_type = self._u64(entry + 8)
            field_types.append(field_type)
            kind = self._u8(field_type + 23) & 0x1F
            fields.append(GoField(name, tag, bool(flags & 8), kind, self._type_string(field_type)))
        if self._u8(type_address + 20) & 1:  # TFlagUncommon: named type with a package path
            package = self._name(self.types_base + self._i32(type_address + 80))[1]
            self.structs[f"{package}|{self._type_string(type_address)}"] = fields
        return field_types


def _go_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
