"""Request bodies as plain JSON values: bounded nesting, YAML's extra types folded into JSON, and
serialisation that survives text which is not valid UTF-8.

Why: orjson parses 1024 levels but serialises only 254, and PyYAML recurses on nesting, so a
deep body used to fail *after* it was accepted (500 at storage, or a RecursionError). YAML also
yields bytes (!!binary), sets, dates and non-string keys that no later step expects. And header
values arrive as UTF-8 with surrogate escapes (aiohttp), which orjson refuses to write; Go's
encoder writes U+FFFD for such bytes, so we do the same instead of failing the response.
"""

from __future__ import annotations

import datetime
from typing import Any

import orjson
import yaml

from kubeadmpy.machinery import status

MAX_DEPTH = 100  # far deeper than any Kubernetes object; far below orjson's 254 when wrapped


def check_depth(value: Any, what: str = "the body of the request") -> None:
    """A 400 when `value` nests deeper than MAX_DEPTH (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise status.bad_request(f"{what} nests objects and lists deeper than {MAX_DEPTH} "
                                     "levels; no Kubernetes object does")
        stack.extend((child, depth + 1) for child in
                     (item.values() if isinstance(item, dict) else item))


class _Loader(yaml.SafeLoader):
    """YAML 1.1 as sigs.k8s.io/yaml reads it into JSON: a timestamp stays the string it is."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_yaml(raw: bytes) -> Any:
    """One YAML document as a JSON value; yaml.YAMLError or a 400 Status when it is not one."""
    try:
        value = yaml.load(raw or b"", Loader=_Loader)  # a SafeLoader subclass
    except RecursionError as exc:
        raise status.bad_request("the body of the request could not be decoded as YAML: it "
                                 f"nests deeper than {MAX_DEPTH} levels") from exc
    check_depth(value)
    return _as_json(value, "")


def _as_json(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return {_key(k, path): _as_json(v, f"{path}.{_key(k, path)}") for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, set):  # !!set: a mapping whose values are all null, as in Go
        return dict.fromkeys(sorted(_key(k, path) for k in value))
    if isinstance(value, bytes):  # !!binary: Go's yaml decodes it into the string it holds
        try:
            return value.decode()
        except UnicodeDecodeError as exc:
            raise status.bad_request(f"the body of the request could not be decoded as YAML: "
                                     f"{path.lstrip('.') or 'the document'}: !!binary value "
                                     "is not UTF-8 text") from exc
    if isinstance(value, datetime.date):  # only an explicit !!timestamp tag gets here
        return value.isoformat()
    if isinstance(value, str) and not _is_utf8(value):
        raise status.bad_request(f"the body of the request could not be decoded as YAML: "
                                 f"{path.lstrip('.') or 'the document'}: the text is not valid "
                                 "UTF-8 (a lone surrogate escape)")
    return value


def _key(key: Any, path: str) -> str:
    """Map keys as JSON needs them: strings (Go's converter prints 1, true, null likewise)."""
    if isinstance(key, str):
        return str(_as_json(key, path))
    if isinstance(key, bool) or key is None:
        return orjson.dumps(key).decode()
    if isinstance(key, int | float):
        return str(key)
    return str(_as_json(key, path))


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def dumps(obj: Any) -> bytes:
    """orjson.dumps, writing U+FFFD for text that is not valid UTF-8 (as Go's encoder does)
    rather than failing: such text comes from raw header bytes, e.g. a user name."""
    try:
        return orjson.dumps(obj)
    except orjson.JSONEncodeError as exc:
        if "surrogates" not in str(exc):
            raise
        return orjson.dumps(_scrub(obj))


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        if _is_utf8(value):
            return value
        try:  # the raw bytes aiohttp escaped, so each bad byte becomes one U+FFFD
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate no decoder made: keep its bytes, replace it
            raw = value.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value
