"""Field paths and field sets: the vocabulary of server-side apply's `managedFields`.

A field set names the parts of an object a manager owns. On the wire it is FieldsV1, a trie of
`f:<field>`, `k:<json of list-map keys>`, `v:<json value>` and `i:<index>` keys where `"."`
marks the node itself. Here a path is a tuple of those key strings, and the walk that turns an
object into paths follows the schema (list-type map/set/atomic, map-type atomic), exactly as
the structured-merge-diff library upstream does for built-in types.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from kubeadmpy.machinery.schema.definitions import PatchMeta, SchemaNode

Path = tuple[str, ...]

# A marker value for container nodes (maps, list items) in flattened objects.
CONTAINER = object()


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def json_copy(value: Any) -> Any:
    """A deep copy of decoded JSON, several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value


def list_semantics(node: SchemaNode | None) -> tuple[str, tuple[str, ...]]:
    """("map", keys) | ("set", ()) | ("atomic", ()) for a list field, as apply treats it."""
    meta = node.patch_meta if node is not None else PatchMeta()
    if meta.list_type == "map" and meta.map_keys:
        return "map", meta.map_keys
    if meta.list_type in ("set", "atomic"):
        return meta.list_type, ()
    # Lists without list-type fall back to their patch strategy, as kube-openapi converts them.
    if meta.merges and meta.merge_key:
        return "map", (meta.merge_key,)
    if meta.merges:
        return "set", ()
    return "atomic", ()


def _is_atomic_map(node: SchemaNode | None) -> bool:
    return node is not None and node.patch_meta.map_type == "atomic"


def _child_node(node: SchemaNode | None, key: str) -> SchemaNode | None:
    if node is None:
        return None
    if node.values is not None:
        return node.values
    return node.field(key)


def item_element(item: Any, semantics: str, keys: tuple[str, ...], index: int) -> str:
    """The path element of one list item: `k:{...}` for map lists, `v:...` for sets."""
    if semantics == "map" and isinstance(item, dict):
        present = sorted(k for k in keys if k in item)
        if present:
            return "k:{" + ",".join(f"{json.dumps(k)}:{_compact(item[k])}" for k in present) + "}"
    if semantics == "set":
        return "v:" + _compact(item)
    return f"i:{index}"


def flatten(obj: Any, node: SchemaNode | None, *, containers: bool,
            duplicates: list[Path] | None = None) -> dict[Path, Any]:
    """Every path in `obj` → its value (leaves) or CONTAINER (list items; maps if asked).

    List items that share an identity (two containers named "a") go to `duplicates`.
    """
    out: dict[Path, Any] = {}
    _flatten(obj, node, (), out, containers, duplicates if duplicates is not None else [])
    return out


def _flatten(value: Any, node: SchemaNode | None, path: Path, out: dict[Path, Any],
             containers: bool, duplicates: list[Path]) -> None:
    if isinstance(value, dict) and not _is_atomic_map(node):
        if containers and path:
            out[path] = CONTAINER
        for key, item in value.items():
            _flatten(item, _child_node(node, key), (*path, "f:" + key), out, containers,
                     duplicates)
        return
    if isinstance(value, list):
        semantics, keys = list_semantics(node)
        if semantics != "atomic":
            items_node = node.items if node is not None else None
            for index, item in enumerate(value):
                element = (*path, item_element(item, semantics, keys, index))
                if element in out:
                    duplicates.append(element)
                if semantics == "set":
                    out[element] = item
                    continue
                out[element] = CONTAINER
                _flatten(item, items_node, element, out, containers, duplicates)
            return
    out[path] = value


def applied_fields(obj: dict[str, Any], node: SchemaNode | None,
                   duplicates: list[Path] | None = None) -> set[Path]:
    """The fields an applied configuration sets: leaves and list items, not plain maps."""
    return set(flatten(obj, node, containers=False, duplicates=duplicates))


def _is_item(path: Path) -> bool:
    return bool(path) and path[-1][:2] in ("k:", "v:", "i:")


def ancestors(path: Path) -> Iterator[Path]:
    for end in range(1, len(path)):
        yield path[:end]


# Objects made from one template (a ReplicaSet's pods, a benchmark's) have the same field set,
# so every such write would rebuild the same FieldsV1 tree: remember a few encodings (as JSON
# bytes, decoded fresh each time so no caller can change a cached tree).
_ENCODED: dict[frozenset[Path], bytes] = {}
_ENCODED_MAX = 256


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """Encode a field set as FieldsV1 JSON (children sorted f:, k:, v:, i:, "." first)."""
    key = frozenset(paths)
    cached = _ENCODED.get(key)
    if cached is not None:
        decoded: dict[str, Any] = orjson.loads(cached)
        return decoded
    encoded = _to_fields_v1(key)
    if len(_ENCODED) >= _ENCODED_MAX:
        _ENCODED.pop(next(iter(_ENCODED)))
    _ENCODED[key] = orjson.dumps(encoded)
    return encoded


def _to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    trie: dict[str, Any] = {}
    for path in paths:
        node = trie
        for element in path:
            node = node.setdefault(element, {})
        node["."] = {}
    return _finish(trie)


_RANK = {".": 0, "f": 1, "k": 2, "v": 3, "i": 4}


def _finish(node: dict[str, Any]) -> dict[str, Any]:
    children = {k: v for k, v in node.items() if k != "."}
    if not children:
        return {}
    out: dict[str, Any] = {".": {}} if "." in node else {}
    for key in sorted(children, key=lambda k: (_RANK.get(k[0], 9), k)):
        out[key] = _finish(children[key])
    return out


def from_fields_v1(fields: dict[str, Any], prefix: Path = ()) -> set[Path]:
    """Decode FieldsV1 JSON into a set of paths."""
    paths: set[Path] = set()
    for key, child in fields.items():
        if key == ".":
            if prefix:
                paths.add(prefix)
            continue
        path = (*prefix, key)
        if not child:
            paths.add(path)
        else:
            paths |= from_fields_v1(child, path)
    return paths


def path_string(path: Path) -> str:
    """How upstream prints a path in conflict messages: `.spec.containers[name="a"].image`."""
    parts: list[str] = []
    for element in path:
        kind, text = element[:2], element[2:]
        if kind == "f:":
            parts.append("." + text)
        elif kind == "k:":
            keys = json.loads(text)
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]")
        elif kind == "v:":
            parts.append(f"[={text}]")
        else:
            parts.append(f"[{text}]")
    return "".join(parts)
