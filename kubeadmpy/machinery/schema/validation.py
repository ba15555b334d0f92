"""Validating request bodies against the type schemas, fast enough for every write.

Each definition is compiled once into a tree of small closures (cached per definition), so a
write pays only for walking its own object. One walk yields both the Invalid causes (422, shaped
like upstream `StatusCause`s with paths such as `spec.containers[0].image`) and the unknown
fields that `fieldValidation=Strict|Warn|Ignore` decides about. A generic JSON Schema validator
was measured as the reference in benchmarks/schema_validation.py: it knows neither Kubernetes
field paths nor nullable/int-or-string conventions, and it is over ten times slower.
How a request turns findings into 400/422/warnings lives in `body.py`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubeadmpy.machinery.schema.definitions import (
    DEFAULT_VERSION,
    GVK,
    Definitions,
    SchemaNode,
    load,
)
from kubeadmpy.machinery.schema.enforced import enforced_required, is_missing
from kubeadmpy.machinery.status import Cause

# Upstream metav1.CauseType values for field errors.
REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
TYPE_INVALID = "FieldValueTypeInvalid"

# RFC 3339 as Go's time.Parse accepts it for metav1.Time (seconds; optional fraction).
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_rfc3339(text: str) -> bool:
    return _RFC3339.match(text) is not None


# String formats a typed decoder would refuse to read (Secret data, timestamps).
_FORMATS: dict[str, Callable[[str], bool]] = {"byte": _is_base64, "date-time": _is_rfc3339}
_FORMAT_NAMES = {"byte": "base64 encoded data", "date-time": "an RFC 3339 time"}

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


@dataclass
class Findings:
    """What one walk over an object found."""

    causes: list[Cause] = field(default_factory=list)
    # The subset of `causes` a typed decoder could not even read (wrong JSON type, out of
    # range): upstream answers those with 400 BadRequest rather than 422 Invalid.
    undecodable: list[Cause] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)
    # (parent mapping, key) of every unknown field, so they can be dropped after the walk.
    unknown_at: list[tuple[dict[str, Any], str]] = field(default_factory=list)


Check = Callable[[Any, str, Findings], None]


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return json.dumps(value)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _type_error(value: Any, path: str, expected: str, found: Findings) -> None:
    cause = Cause(
        TYPE_INVALID,
        f"Invalid value: {_describe(value)}: must be of type {expected}, not {_json_type(value)}",
        path)
    found.causes.append(cause)
    found.undecodable.append(cause)


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Compiler:
    """Turns schema nodes into checks; definitions are compiled once and may be recursive."""

    def __init__(self, definitions: Definitions) -> None:
        self.definitions = definitions
        self.by_definition: dict[str, Check] = {}

    def compile_definition(self, name: str) -> Check:
        check = self.by_definition.get(name)
        if check is None:
            # Placeholder first: recursive types (JSONSchemaProps) refer back to themselves.
            def deferred(value: Any, path: str, found: Findings) -> None:
                self.by_definition[name](value, path, found)

            self.by_definition[name] = deferred
            check = self.compile_node(self.definitions.named(name))
            self.by_definition[name] = check
        return check

    def compile_child(self, node: SchemaNode) -> Check:
        # Named nodes without local extensions are shared definitions: compile them once.
        if node.name and node.raw is self.definitions.defs.get(node.name):
            return self.compile_definition(node.name)
        return self.compile_node(node)

    def compile_node(self, node: SchemaNode) -> Check:
        types = node.types
        enum = node.raw.get("enum")
        if not types:
            one_of = node.raw.get("oneOf")
            if one_of:
                alternatives = tuple(
                    t for alt in one_of for t in SchemaNode(self.definitions, alt).types)
                return self._scalar_union(alternatives)
            return _accept_anything
        kind = types[0]
        if kind == "object":
            if node.properties:
                return self._struct(node)
            if node.values is not None:
                return self._map(self.compile_child(node.values))
            return _expect_object
        if kind == "array":
            items = node.items
            return self._list(self.compile_child(items) if items is not None else _accept_anything)
        return self._scalar(kind, node.raw.get("format", ""), tuple(enum) if enum else ())

    def _struct(self, node: SchemaNode) -> Check:
        fields = {name: self.compile_child(child)
                  for name in node.properties
                  if (child := node.field(name)) is not None}
        # Not `node.required`: OpenAPI asks for more than upstream validation enforces.
        required = enforced_required(node.name)
        open_ended = bool(node.raw.get("x-kubernetes-preserve-unknown-fields"))

        def check_struct(value: Any, path: str, found: Findings) -> None:
            if not isinstance(value, dict):
                _type_error(value, path, "object", found)
                return
            for key, item in value.items():
                check = fields.get(key)
                if check is not None:
                    if item is not None:
                        check(item, _child(path, key), found)
                elif not open_ended:
                    found.unknown_fields.append(_child(path, key))
                    found.unknown_at.append((value, key))
            for name in required:
                if is_missing(value.get(name)):
                    found.causes.append(Cause(REQUIRED, "Required value", _child(path, name)))

        return check_struct

    @staticmethod
    def _map(check_value: Check) -> Check:
        def check_map(value: Any, path: str, found: Findings) -> None:
            if not isinstance(value, dict):
                _type_error(value, path, "object", found)
                return
            for key, item in value.items():
                if item is not None:
                    check_value(item, f"{path}[{key}]", found)

        return check_map

    @staticmethod
    def _list(check_item: Check) -> Check:
        def check_list(value: Any, path: str, found: Findings) -> None:
            if not isinstance(value, list):
                _type_error(value, path, "array", found)
                return
            for index, item in enumerate(value):
                if item is not None:
                    check_item(item, f"{path}[{index}]", found)

        return check_list

    @staticmethod
    def _scalar(kind: str, fmt: str, enum: tuple[Any, ...]) -> Check:
        if kind == "string":
            accepted: tuple[type, ...] = (str,)
        elif kind == "boolean":
            accepted = (bool,)
        elif kind == "integer":
            accepted = (int,)
        else:
            accepted = (int, float)
        bounds = _INT32 if fmt == "int32" else _INT64 if kind == "integer" else None
        format_check = _FORMATS.get(fmt) if kind == "string" else None

        def check_scalar(value: Any, path: str, found: Findings) -> None:
            number: Any = value  # isinstance below narrows to object for a tuple of types
            if not isinstance(value, accepted) or (isinstance(value, bool) and kind != "boolean"):
                _type_error(value, path, kind, found)
                return
            if bounds is not None and not bounds[0] <= number <= bounds[1]:
                cause = Cause(
                    INVALID, f"Invalid value: {value}: must be a {fmt or 'int64'} integer", path)
                found.causes.append(cause)
                found.undecodable.append(cause)
            elif format_check is not None and not format_check(number):
                cause = Cause(INVALID, f"Invalid value: {json.dumps(value)}: must be "
                              f"{_FORMAT_NAMES[fmt]}", path)
                found.causes.append(cause)
                found.undecodable.append(cause)
            elif enum and value not in enum:
                supported = ", ".join(json.dumps(v) for v in enum)
                found.causes.append(Cause(
                    NOT_SUPPORTED,
                    f"Unsupported value: {json.dumps(value)}: supported values: {supported}", path))

        return check_scalar

    @staticmethod
    def _scalar_union(types: tuple[str, ...]) -> Check:
        accepted: list[type] = []
        for kind in types:
            accepted.extend({"string": (str,), "integer": (int,), "number": (int, float),
                             "boolean": (bool,)}.get(kind, ()))
        accepted_types = tuple(accepted)
        expected = " or ".join(types)

        def check_union(value: Any, path: str, found: Findings) -> None:
            if isinstance(value, bool) or not isinstance(value, accepted_types):
                _type_error(value, path, expected, found)

        return check_union


def _accept_anything(value: Any, path: str, found: Findings) -> None:
    return None


def _expect_object(value: Any, path: str, found: Findings) -> None:
    if not isinstance(value, dict):
        _type_error(value, path, "object", found)


_compilers: dict[str, _Compiler] = {}


def compiled_check(gvk: GVK, version: str = DEFAULT_VERSION) -> Check | None:
    """The compiled check of a kind (cached), or None for kinds without a schema."""
    compiler = _compilers.get(version)
    if compiler is None:
        compiler = _compilers[version] = _Compiler(load(version))
    name = compiler.definitions.definition_name(gvk)
    return compiler.compile_definition(name) if name is not None else None


def inspect(obj: dict[str, Any], gvk: GVK | None = None,
            version: str = DEFAULT_VERSION) -> Findings:
    """Walk `obj` against the schema of `gvk` (default: the object's own apiVersion/kind)."""
    gvk = gvk or GVK.of(obj)
    check = compiled_check(gvk, version)
    found = Findings()
    if check is not None:
        check(obj, "", found)
    return found


def validate(obj: dict[str, Any], gvk: GVK | None = None,
             version: str = DEFAULT_VERSION) -> list[Cause]:
    """Schema violations of `obj` as Status causes; empty when the object is valid."""
    return inspect(obj, gvk, version).causes


def find_unknown_fields(obj: dict[str, Any], gvk: GVK | None = None,
                        version: str = DEFAULT_VERSION) -> list[str]:
    """Paths of fields the schema does not declare, e.g. ["spec.foo"]."""
    return inspect(obj, gvk, version).unknown_fields
