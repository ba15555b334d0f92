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
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kubeadmpy.files import write_file
from kubeadmpy.machinery.protobuf.go_binary import (
    GO_MAP,
    GO_POINTER,
    GenerationError,
    GoTypes,
    ProtoMessage,
    read_descriptors,
)

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
        if go_field.kind == GO_POINTER:
            flags += "p"
        if proto_field.repeated:
            map_type = proto_field.type.endswith("Entry") and go_field.kind == GO_MAP
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
