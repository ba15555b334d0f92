"""Quoting filters: the only way a value enters a rendered file.

Templates hold layout; every value goes through one of these functions so that a path with a
colon, a flag value with a quote or a name that looks like a boolean can never change the
structure of the file it lands in. Each quoting function has a parse-back partner (the YAML/TOML
parsers, `go_unquote`) that the renderers use to check the round trip.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

# libyaml's emitter and parser when PyYAML was built with them (several times faster; the golden
# tests hold the output to the same bytes).
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NO_WRAP = 2**31 - 1  # a line width no value reaches (libyaml wants a C int, not infinity)

_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t",
               "\v": r"\v", "\\": "\\\\", '"': '\\"'}


def to_yaml(value: Any) -> str:
    """`value` as one inline YAML node (plain scalar when safe, quoted otherwise, flow for
    collections), for use after a `key: ` or a `- ` in a template."""
    # A string with line breaks or control characters is forced into double quotes, where they
    # become escapes; otherwise PyYAML may continue it on a next line, which would then have to
    # match the template's indentation.
    style = '"' if isinstance(value, str) and not _one_line_printable(value) else None
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, default_style=style,
                     width=_NO_WRAP, allow_unicode=True)
    # safe_dump ends a lone scalar document with an explicit end marker; we want the node only.
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _one_line_printable(value: str) -> bool:
    return value.isprintable() and not any(char in value for char in "\x85\u2028\u2029")


def to_nice_yaml(value: Mapping[str, Any] | Sequence[Any], indent: int = 0) -> str:
    """`value` as a YAML block, every line indented by `indent` spaces (no trailing newline)."""
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=False, sort_keys=True,
                     allow_unicode=True, width=_NO_WRAP)
    pad = " " * indent
    return "\n".join(pad + line for line in text.rstrip("\n").split("\n"))


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely (the parse-back half of `to_yaml`/`to_nice_yaml`)."""
    return yaml.load(text, Loader=_Loader)


def to_json(value: Any) -> str:
    """`value` as compact JSON (a valid YAML flow node too)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def toml_str(value: str) -> str:
    """A TOML basic string holding `value` exactly."""
    if not isinstance(value, str):
        raise TypeError(f"toml_str expects a string, got {type(value).__name__}")
    out = []
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in "\b\t\n\f\r":
            out.append({"\b": r"\b", "\t": r"\t", "\n": r"\n", "\f": r"\f", "\r": r"\r"}[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """A TOML value for a bool, int, string or list of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_str(value)
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def go_quote(value: str) -> str:
    """`value` quoted like Go's ``%q`` (strconv.Quote), as kubeadm writes kubeadm-flags.env."""
    out = []
    for char in value:
        code = ord(char)
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


_GO_UNESCAPE = re.compile(r'\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[abfnrtv\\"])')
_GO_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", '"': '"'}


def go_unquote(quoted: str) -> str:
    """Inverse of `go_quote` (for the escapes `go_quote` produces)."""
    if len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
        raise ValueError(f"not a Go quoted string: {quoted!r}")

    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        return _GO_SIMPLE[escape] if len(escape) == 1 else chr(int(escape[1:], 16))

    return _GO_UNESCAPE.sub(replace, quoted[1:-1])


def systemd_quote(value: str) -> str:
    """`value` as one word of a systemd unit setting (ExecStart, Environment, EnvironmentFile).

    Specifiers (``%``) and variable expansion (``$``) are escaped so the value is taken literally;
    the word is double-quoted only when it holds characters systemd would split or unescape.
    """
    if "\n" in value or "\0" in value:
        raise ValueError(f"a systemd setting cannot hold a newline or NUL: {value!r}")
    escaped = value.replace("%", "%%").replace("$", "$$")
    if value and re.fullmatch(r"[A-Za-z0-9_@%+=:,./$-]+", value):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
