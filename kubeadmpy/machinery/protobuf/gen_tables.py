"""Generate `tables.py`, the field tables of the protobuf decoder, from a real kubectl binary.

Why a kubectl binary: it holds both halves of the facts the decoder needs, for exactly the
version it was built from, in machine-readable form:

* the compiled `generated.proto` files of k8s.io/api and k8s.io/apimachinery (gogo registers each
  file as a gzipped ``FileDescriptorProto``): message names, field numbers, proto types, labels
  and map entries;
* Go's reflection data for the same types (every API struct is reachable through the scheme):
  for each field its Go kind (pointer, slice, map, value), its struct tags (`json:"name,omitempty"`
  and `protobuf:"varint,1,opt,name=..."`) and whether it is embedded (`json:",inline"`).

The first gives the wire shape, the second how Go's encoding/json would print the decoded object
(JSON name, omitempty, pointer presence, inlining), which is what an API server works with.

Usage (development only; the output is committed)::

    python -m kubeadmpy.machinery.protobuf.gen_tables \\
        [--kubectl /usr/lib/google-cloud-sdk/bin/kubectl.1.33] \\
        --output kubeadmpy/machinery/protobuf/tables.py

The Go reflection layout read here is the one of Go 1.21–1.24 (internal/abi.Type, 64-bit ELF).
"""

from __future__ import annotations

import argparse
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kubeadmpy.files import write_file
from kubeadmpy.machinery.protobuf.wire import iter_fields

DEFAULT_KUBECTL = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.33")

# Proto files (by package directory) whose kinds the decoder registers; their dependencies are
# pulled in automatically. GA versions only, plus what the task list names.
API_GROUPS: dict[str, str] = {
    "k8s.io/api/admissionregistration/v1": "admissionregistration.k8s.io/v1",
    "k8s.io/api/apps/v1": "apps/v1",
    "k8s.io/api/authentication/v1": "authentication.k8s.io/v1",
    "k8s.io/api/authorization/v1": "authorization.k8s.io/v1",
    "k8s.io/api/autoscaling/v1": "autoscaling/v1",
    "k8s.io/api/autoscaling/v2": "autoscaling/v2",
    "k8s.io/api/batch/v1": "batch/v1",
    "k8s.io/api/certificates/v1": "certificates.k8s.io/v1",
    "k8s.io/api/coordination/v1": "coordination.k8s.io/v1",
    "k8s.io/api/core/v1": "v1",
    "k8s.io/api/discovery/v1": "discovery.k8s.io/v1",
    "k8s.io/api/events/v1": "events.k8s.io/v1",
    "k8s.io/api/flowcontrol/v1": "flowcontrol.apiserver.k8s.io/v1",
    "k8s.io/api/networking/v1": "networking.k8s.io/v1",
    "k8s.io/api/node/v1": "node.k8s.io/v1",
    "k8s.io/api/policy/v1": "policy/v1",
    "k8s.io/api/rbac/v1": "rbac.authorization.k8s.io/v1",
    "k8s.io/api/scheduling/v1": "scheduling.k8s.io/v1",
    "k8s.io/api/storage/v1": "storage.k8s.io/v1",
    "k8s.io/apimachinery/pkg/apis/meta/v1": "meta.k8s.io/v1",
}

# Messages whose Go type has its own JSON form; the decoder handles them by name, so their rows
# are the plain proto fields.
CUSTOM_JSON = frozenset({
    "k8s.io.apimachinery.pkg.api.resource.Quantity",
    "k8s.io.apimachinery.pkg.api.resource.QuantityValue",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Timestamp",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1",
    "k8s.io.apimachinery.pkg.runtime.RawExtension",
    "k8s.io.apimachinery.pkg.runtime.Unknown",
    "k8s.io.apimachinery.pkg.runtime.TypeMeta",
})

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
_GO_MAP, _GO_PTR, _GO_SLICE, _GO_STRUCT, _GO_ARRAY = 21, 22, 23, 25, 17


class GenerationError(Exception):
    """The binary does not contain what the generator expects."""


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
            if kind in (_GO_PTR, _GO_SLICE, _GO_ARRAY):
                pending.append(self._u64(type_address + 48))
            elif kind == _GO_MAP:
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


# ---------------------------------------------------------------------------------------------
# Joining both into table rows


@dataclass(frozen=True)
class Row:
    number: int
    json_name: str
    type: str
    flags: str


def _tag_value(tag: str, key: str) -> str | None:
    match = re.search(rf'(?:^|\s){key}:"([^"]*)"', tag)
    return match.group(1) if match else None


def _go_key(message: str) -> str:
    package, _, name = message.rpartition(".")
    path = "k8s.io/" + package.removeprefix("k8s.io.").replace(".", "/")
    return f"{path}|{path.rsplit('/', 1)[-1]}.{name}"


def build_rows(message: ProtoMessage, go: GoTypes) -> tuple[list[Row], bool]:
    """Rows in Go field order; the bool says the Go type is a named slice (a list wrapper)."""
    if message.map_entry or message.full_name in CUSTOM_JSON:
        plain = [Row(f.number, f.name, f.type, "r" if f.repeated else "") for f in message.fields]
        return plain, False
    go_fields = go.structs.get(_go_key(message.full_name))
    if go_fields is None:
        names = [f.name for f in message.fields]
        if names == ["items"] and message.fields[0].repeated:
            return [Row(1, "items", message.fields[0].type, "r")], True
        raise GenerationError(f"no Go struct for {message.full_name}")
    by_number = {f.number: f for f in message.fields}
    rows: list[Row] = []
    for go_field in go_fields:
        proto_tag = _tag_value(go_field.tag, "protobuf")
        if proto_tag is None or proto_tag == "-":
            continue
        number = int(proto_tag.split(",")[1])
        proto_field = by_number.pop(number, None)
        if proto_field is None:
            raise GenerationError(f"{message.full_name}.{go_field.name}: no proto field {number}")
        json_tag = _tag_value(go_field.tag, "json")
        json_name, _, options = (json_tag or "").partition(",")
        flags = ""
        if json_tag is None:
            json_name = go_field.name
        if json_name == "-":
            flags += "x"
        if go_field.embedded and not json_name:
            flags += "i"
        if "omitempty" in options.split(","):
            flags += "o"
        if go_field.kind == _GO_PTR:
            flags += "p"
        if proto_field.repeated:
            map_type = proto_field.type.endswith("Entry") and go_field.kind == _GO_MAP
            flags += "m" if map_type else "r"
        rows.append(Row(number, json_name, proto_field.type, flags))
    if by_number:
        raise GenerationError(f"{message.full_name}: proto fields without Go field {by_number}")
    return rows, False


def select_files(
    files: dict[str, tuple[str, list[str], dict[str, ProtoMessage]]],
) -> list[str]:
    wanted = [f"{path}/generated.proto" for path in API_GROUPS]
    selected: list[str] = []
    while wanted:
        name = wanted.pop(0)
        if name in selected or "gogo" in name:
            continue
        if name not in files:
            raise GenerationError(f"{name} is not in the binary")
        selected.append(name)
        wanted += files[name][1]
    return sorted(selected)


def generate(binary_path: Path) -> str:
    binary = binary_path.read_bytes()
    files = read_descriptors(binary)
    go = GoTypes(binary)
    version = _kubectl_version(binary_path)
    lines = [
        '"""Protobuf field tables for Kubernetes API messages. GENERATED — do not edit.',
        "",
        f"Source: the compiled generated.proto descriptors and Go type data of kubectl {version}",
        f"(k8s.io/api and k8s.io/apimachinery v0.{version.split('.', 1)[1]}), read by",
        "kubeadmpy/machinery/protobuf/gen_tables.py. Row = (field number, JSON name, type, flags);",
        "type is a scalar name or a message full name; flags: o=omitempty p=Go pointer r=repeated",
        "m=map (type is the entry message) i=inlined into the parent x=not in JSON.",
        '"""',
        "",
        "from typing import Final",
        "",
        "Row = tuple[int, str, str, str]",
        "",
        "MESSAGES: Final[dict[str, tuple[Row, ...]]] = {",
    ]
    wrappers: list[str] = []
    kinds: dict[tuple[str, str], str] = {}
    for file_name in select_files(files):
        _, _, messages = files[file_name]
        for full_name in sorted(messages):
            rows, is_wrapper = build_rows(messages[full_name], go)
            if is_wrapper:
                wrappers.append(full_name)
            lines.append(f"    {full_name!r}: (")
            lines += [f"        {(r.number, r.json_name, r.type, r.flags)!r}," for r in rows]
            lines.append("    ),")
            go_fields = go.structs.get(_go_key(full_name), [])
            directory = file_name.rsplit("/", 1)[0]
            if directory in API_GROUPS and any(
                f.name == "TypeMeta" and f.embedded for f in go_fields
            ):
                kinds[(API_GROUPS[directory], full_name.rsplit(".", 1)[1])] = full_name
    lines.append("}")
    lines += ["", "# Messages whose Go type is a named slice: JSON shows the list itself."]
    lines.append("LIST_WRAPPERS: Final[frozenset[str]] = frozenset({")
    lines += [f"    {name!r}," for name in sorted(wrappers)]
    lines.append("})")
    lines += ["", "# (apiVersion, kind) → message of the top-level object."]
    lines.append("KINDS: Final[dict[tuple[str, str], str]] = {")
    lines += [f"    {key!r}: {value!r}," for key, value in sorted(kinds.items())]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _kubectl_version(binary_path: Path) -> str:
    out = subprocess.run(
        [str(binary_path), "version", "--client", "-o", "json"],
        capture_output=True, text=True, check=True,
    ).stdout
    match = re.search(r'"gitVersion":\s*"v([0-9.]+)"', out)
    if not match:
        raise GenerationError(f"cannot read the version of {binary_path}")
    return match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kubectl", type=Path, default=DEFAULT_KUBECTL)
    parser.add_argument("--output", type=Path, help="write here (atomically) instead of stdout")
    args = parser.parse_args()
    text = generate(args.kubectl)
    if args.output is None:
        sys.stdout.write(text)
    else:
        write_file(args.output, text.encode())


if __name__ == "__main__":
    main()
