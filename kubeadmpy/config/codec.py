"""A generic, strict codec between config dataclasses and the plain dicts YAML gives us.

Models stay declarative: a field's JSON name is the camelCase of its Python name (with kubeadm's
acronyms: API, CA, SANs) unless the field's metadata names it, and its type hint says how to
decode it. Decoding is strict like kubeadm's: unknown fields and wrong types are collected as
`FieldProblem`s (path, problem, fix) instead of stopping at the first, so a user sees every mistake
in a file at once. Encoding follows Go's `omitempty`: optional fields (`X | None`, Go pointers) are
left out only when None; plain scalars and collections are left out when empty; nested structs
are always written (`apiServer: {}`), and fields marked `ALWAYS` (no omitempty upstream) are
written even when empty or None (kubeadm prints `taints: null`).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from kubeadmpy.config.durations import (
    DURATION_HINT,
    DurationSyntaxError,
    format_go_duration,
    parse_go_duration,
)

T = TypeVar("T")

# Field metadata: the upstream field has no `omitempty`, so it is written even when empty/None.
ALWAYS: Mapping[str, Any] = {"always": True}
_ACRONYMS = {"api": "API", "ca": "CA", "sans": "SANs"}


@dataclasses.dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field of a document."""

    path: str
    problem: str
    fix: str = ""

    def render(self) -> str:
        text = f"{self.path}: {self.problem}" if self.path else self.problem
        return f"{text}. {self.fix}" if self.fix else text


def json_name(field: dataclasses.Field[Any]) -> str:
    """The upstream camelCase name of a dataclass field (podSubnet, certSANs, localAPIEndpoint)."""
    explicit = field.metadata.get("json")
    if explicit:
        return str(explicit)
    first, *rest = field.name.split("_")
    return first + "".join(_ACRONYMS.get(word, word.capitalize()) for word in rest)


_FIELDS_CACHE: dict[type, dict[str, tuple[dataclasses.Field[Any], Any]]] = {}


def _fields(cls: type) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    """JSON name -> (field, resolved type hint) for a dataclass (cached per class)."""
    if cls not in _FIELDS_CACHE:
        hints = typing.get_type_hints(cls)
        _FIELDS_CACHE[cls] = {json_name(f): (f, hints[f.name])
                              for f in dataclasses.fields(cls) if f.init}
    return _FIELDS_CACHE[cls]


def _optional_inner(hint: Any) -> Any | None:
    """For `X | None` return X; otherwise None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0]
    return None


def describe(hint: Any) -> str:
    """How a type reads in an error message."""
    inner = _optional_inner(hint)
    if inner is not None:
        return describe(inner)
    origin = typing.get_origin(hint)
    if origin is list:
        return "a list"
    if origin is dict or hint is dict:
        return "a mapping"
    if dataclasses.is_dataclass(hint):
        return "a mapping"
    return {
        str: "a string",
        int: "an integer",
        bool: "true or false",
        float: "a number",
        timedelta: 'a duration string such as "24h" or "5m"',
        datetime: 'an RFC 3339 time such as "2030-01-02T15:04:05Z"',
    }.get(hint, "a value")


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def decode(cls: type[T], data: Any, problems: list[FieldProblem], path: str = "",
           ignore: frozenset[str] = frozenset()) -> T:
    """Build `cls` from `data`, appending every problem found; bad fields keep their defaults."""
    if not isinstance(data, dict):
        problems.append(FieldProblem(path, f"expected a mapping, got {_kind_of(data)}",
                                     "Write it as `key: value` lines"))
        return cls()
    known = _fields(cls)
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key in ignore:
            continue
        if not isinstance(key, str) or key not in known:
            problems.append(_unknown_field(path, key, list(known)))
            continue
        field, hint = known[key]
        problem_count = len(problems)
        value = _decode_value(hint, raw, problems, _join(path, key))
        if len(problems) == problem_count:
            values[field.name] = value
    return cls(**values)


def _unknown_field(path: str, key: Any, known: list[str]) -> FieldProblem:
    lowered = {name.lower(): name for name in known}
    text = str(key)
    guesses = difflib.get_close_matches(text.lower(), list(lowered), n=1, cutoff=0.6)
    if guesses:
        fix = f'Did you mean "{lowered[guesses[0]]}"?'
    else:
        fix = "Known fields here: " + ", ".join(sorted(known)) if known else "Remove it"
    return FieldProblem(_join(path, text), "unknown field", fix)


def _decode_value(hint: Any, raw: Any, problems: list[FieldProblem], path: str) -> Any:
    inner = _optional_inner(hint)
    if inner is not None:
        return None if raw is None else _decode_value(inner, raw, problems, path)
    if hint is Any:
        return raw
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if raw is None:  # `apiServer:` with nothing under it means an empty struct, as in Go
            return hint()  # type: ignore[operator]
        return decode(hint, raw, problems, path)  # type: ignore[arg-type]
    if origin is list:
        if raw is None:
            return []
        if not isinstance(raw, list):
            return _wrong_type(hint, raw, problems, path)
        (item_hint,) = typing.get_args(hint)
        return [_decode_value(item_hint, item, problems, f"{path}[{i}]")
                for i, item in enumerate(raw)]
    if origin is dict or hint is dict:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            return _wrong_type(hint, raw, problems, path)
        value_hint = typing.get_args(hint)[1] if typing.get_args(hint) else Any
        return {str(k): _decode_value(value_hint, v, problems, _join(path, str(k)))
                for k, v in raw.items()}
    return _decode_scalar(hint, raw, problems, path)


def _decode_scalar(hint: Any, raw: Any, problems: list[FieldProblem], path: str) -> Any:
    if hint is timedelta:
        if isinstance(raw, str):
            try:
                return parse_go_duration(raw)
            except DurationSyntaxError as exc:
                problems.append(FieldProblem(path, str(exc), DURATION_HINT))
                return None
        return _wrong_type(hint, raw, problems, path)
    if hint is datetime:
        if isinstance(raw, datetime):
            return raw
        if isinstance(raw, str):
            try:
                return datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                pass
        return _wrong_type(hint, raw, problems, path)
    if hint is bool:
        return raw if isinstance(raw, bool) else _wrong_type(hint, raw, problems, path)
    if hint is int:
        ok = isinstance(raw, int) and not isinstance(raw, bool)
        return raw if ok else _wrong_type(hint, raw, problems, path)
    if hint is str:
        return raw if isinstance(raw, str) else _wrong_type(hint, raw, problems, path)
    raise TypeError(f"codec cannot decode {hint!r} at {path}")  # a model bug, not user input


def _wrong_type(hint: Any, raw: Any, problems: list[FieldProblem], path: str) -> None:
    fix = "Quote it" if describe(hint) == "a string" and raw is not None else ""
    fix = fix or f"Give {describe(hint)}"
    problems.append(FieldProblem(path, f"expected {describe(hint)}, got {_kind_of(raw)}", fix))
    return None


def encode(obj: Any) -> dict[str, Any]:
    """The plain-dict form of a config dataclass, with Go's omitempty rules (see module doc)."""
    out: dict[str, Any] = {}
    for name, (field, hint) in _fields(type(obj)).items():
        value = getattr(obj, field.name)
        if field.metadata.get("always"):
            out[name] = None if value is None else _encode_value(value)
            continue
        if value is None:
            continue
        optional = _optional_inner(hint) is not None
        if not optional and not dataclasses.is_dataclass(value) and _is_empty(value):
            continue
        out[name] = _encode_value(value)
    return out


def _is_empty(value: Any) -> bool:
    return value in ("", 0, False) or (isinstance(value, list | dict) and not value)


def _encode_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode(value)
    if isinstance(value, timedelta):
        return format_go_duration(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list):
        return [_encode_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode_value(v) for k, v in value.items()}
    return value
