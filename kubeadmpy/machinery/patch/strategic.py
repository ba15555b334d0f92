"""Kubernetes strategic merge patch (`application/strategic-merge-patch+json`).

kubectl's default patch type and what client-side `kubectl apply` sends: maps merge, lists merge
by the schema's `x-kubernetes-patch-merge-key` when the field's patch strategy is `merge`
(otherwise they are replaced), and directives steer the rest: `$patch: replace|delete` (on a map
or as a list element), `$deleteFromPrimitiveList/<list>`, `$setElementOrder/<list>` and
`$retainKeys`. Element order follows upstream: `$setElementOrder` first, then the order in the
patch, then the live order (server-only items interleave by their live position). The schema
comes from `kubeadmpy.machinery.schema`, so every built-in kind gets its real merge keys.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kubeadmpy.machinery.schema.definitions import GVK, SchemaNode, schema_for
from kubeadmpy.machinery.status import APIStatusError, bad_request

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/"
SET_ELEMENT_ORDER = "$setElementOrder/"


def _items_node(node: SchemaNode | None) -> SchemaNode | None:
    return node.items if node is not None else None


def _field_node(node: SchemaNode | None, key: str) -> SchemaNode | None:
    if node is None:
        return None
    if node.values is not None:
        return node.values
    return node.field(key)


def _same(left: Any, right: Any) -> bool:
    # JSON equality: Python's 1 == True must not make a port equal to a boolean.
    return type(left) is type(right) and left == right


def _index_of(order: list[Any], item: Any, merge_key: str) -> int:
    wanted = item.get(merge_key) if merge_key else item
    for position, candidate in enumerate(order):
        value = candidate.get(merge_key) if merge_key and isinstance(candidate, dict) else candidate
        if _same(value, wanted) and (not merge_key or merge_key in candidate):
            return position
    return -1


def _sorted_by(items: list[Any], order: list[Any], merge_key: str) -> list[Any]:
    """Stable sort of `items` by position in `order`; items not in `order` go last."""
    def position(item: Any) -> int:
        found = _index_of(order, item, merge_key)
        return found if found >= 0 else len(order)

    return sorted(items, key=position)


def _interleave(server_only: list[Any], patch_items: list[Any], server_order: list[Any],
                merge_key: str) -> list[Any]:
    """Upstream's order rule: a server-only item goes first only when both are live items and
    it came first in the live list; otherwise the patch item does."""
    result: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if j >= len(patch_items):
            result.append(server_only[i])
            i += 1
        elif i >= len(server_only):
            result.append(patch_items[j])
            j += 1
        else:
            left = _index_of(server_order, server_only[i], merge_key)
            right = _index_of(server_order, patch_items[j], merge_key)
            if left >= 0 and right >= 0 and left < right:
                result.append(server_only[i])
                i += 1
            else:
                result.append(patch_items[j])
                j += 1
    return result


def _ordered(merged: list[Any], patch_order: list[Any], server_order: list[Any],
             merge_key: str) -> list[Any]:
    in_patch = [item for item in merged if _index_of(patch_order, item, merge_key) >= 0]
    server_only = [item for item in merged if _index_of(patch_order, item, merge_key) < 0]
    return _interleave(_sorted_by(server_only, server_order, merge_key),
                       _sorted_by(in_patch, patch_order, merge_key), server_order, merge_key)


class _Merger:
    """One patch application; `path` names fields in error messages."""

    def merge_map(self, original: dict[str, Any] | None, patch: dict[str, Any],
                  node: SchemaNode | None, path: str) -> dict[str, Any]:
        patch = dict(patch)
        if DIRECTIVE in patch:
            directive = patch.pop(DIRECTIVE)
            if directive == "replace":
                return self.merge_map({}, patch, node, path)
            if directive == "delete":
                return {}
            if directive != "merge":
                raise bad_request(f'{path or "patch"}: unknown $patch directive "{directive}"; '
                                  'use "replace", "delete" or "merge"')
        result = dict(original) if original else {}
        if RETAIN_KEYS in patch:
            self._retain_keys(result, patch, path)
        for key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
            self._set_element_order(result, patch, key, node, path)
        for key, value in patch.items():
            if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
                self._delete_from_primitive_list(result, key, value, path)
            elif value is None:
                result.pop(key, None)
            else:
                result[key] = self.merge_value(result.get(key), value,
                                               _field_node(node, key), _join(path, key))
        return result

    def merge_value(self, original: Any, value: Any, node: SchemaNode | None, path: str) -> Any:
        meta = node.patch_meta if node is not None else None
        if isinstance(value, dict):
            base = original if isinstance(original, dict) else None
            if meta is not None and "replace" in meta.strategies:
                base = None
            return self.merge_map(base, value, node, path)
        if isinstance(value, list):
            if meta is not None and meta.merges:
                base_list = original if isinstance(original, list) else []
                return self.merge_list(base_list, value, _items_node(node), meta.merge_key, path)
            return copy.deepcopy(value)
        return value

    def merge_list(self, original: list[Any], patch: list[Any], item_node: SchemaNode | None,
                   merge_key: str, path: str) -> list[Any]:
        if not original and not patch:
            return []
        maps = [isinstance(item, dict) for item in (*original, *patch)]
        if any(isinstance(item, list) for item in (*original, *patch)):
            raise bad_request(f"{path}: lists of lists cannot be merged")
        if not all(maps):
            if any(maps):
                raise bad_request(f"{path}: list mixes objects and scalars")
            merged: list[Any] = []
            for item in (*original, *patch):
                if not any(_same(item, seen) for seen in merged):
                    merged.append(item)
            return _ordered(merged, patch, original, "")
        if not merge_key:
            raise bad_request(f"{path}: cannot merge a list of objects without a merge key; "
                              "send the whole list with a JSON merge patch instead")
        server = list(original)
        plain: list[dict[str, Any]] = []
        replace = False
        for item in patch:
            directive = item.get(DIRECTIVE)
            if directive is None:
                plain.append(item)
            elif directive == "delete":
                if merge_key not in item:
                    raise _missing_merge_key(path, item, merge_key)
                server = [s for s in server if not _same(s.get(merge_key), item[merge_key])]
            elif directive == "replace":
                replace = True
            else:
                raise bad_request(f'{path}: unsupported $patch "{directive}" in a list element; '
                                  'use "delete" or "replace"')
        if replace:
            return [self.merge_map({}, item, item_node, path) for item in plain]
        merged = list(server)
        for item in plain:
            if merge_key not in item:
                raise _missing_merge_key(path, item, merge_key)
            position = _index_of(merged, item, merge_key)
            element_path = f"{path}[{merge_key}={json.dumps(item[merge_key])}]"
            if position >= 0:
                merged[position] = self.merge_map(merged[position], item, item_node, element_path)
            else:
                merged.append(self.merge_map({}, item, item_node, element_path))
        return _ordered(merged, plain, server, merge_key)

    @staticmethod
    def _retain_keys(result: dict[str, Any], patch: dict[str, Any], path: str) -> None:
        keep = patch.pop(RETAIN_KEYS)
        if not isinstance(keep, list):
            raise bad_request(f"{path}: $retainKeys must be a list of field names")
        for key, value in patch.items():
            if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
                continue
            if key not in keep:
                raise bad_request(f'{path}: field "{key}" is in the patch but not in $retainKeys '
                                  f"{keep}; list every field the patch sets")
        for key in list(result):
            if key not in keep:
                del result[key]

    def _set_element_order(self, result: dict[str, Any], patch: dict[str, Any], key: str,
                           node: SchemaNode | None, path: str) -> None:
        order = patch.pop(key)
        name = key[len(SET_ELEMENT_ORDER):]
        if not isinstance(order, list):
            raise bad_request(f"{path}: {key} must be a list")
        field = _field_node(node, name)
        meta = field.patch_meta if field is not None else None
        merge_key = meta.merge_key if meta is not None else ""
        live = result.get(name)
        live_list = live if isinstance(live, list) else None
        patch_list = patch.pop(name, None)
        list_path = _join(path, name)
        if patch_list is not None and not isinstance(patch_list, list):
            raise bad_request(f"{list_path}: must be a list next to {key}")
        if patch_list:
            _check_order(patch_list, order, merge_key, list_path, key)
        if live_list is None and patch_list is None:
            return
        if patch_list is None:
            merged = list(live_list or [])
        else:
            merged = self.merge_value(live_list, patch_list, field, list_path)
        result[name] = _ordered(merged, order, live_list or [], merge_key)

    @staticmethod
    def _delete_from_primitive_list(result: dict[str, Any], key: str, value: Any,
                                    path: str) -> None:
        name = key[len(DELETE_FROM_PRIMITIVE_LIST):]
        if not isinstance(value, list):
            raise bad_request(f"{path}: {key} must be a list of values to remove")
        live = result.get(name)
        if isinstance(live, list):
            result[name] = [item for item in live if not any(_same(item, v) for v in value)]


def _check_order(patch_list: list[Any], order: list[Any], merge_key: str, path: str,
                 key: str) -> None:
    """The patch list must follow $setElementOrder (deletions aside), as upstream requires."""
    items = [item for item in patch_list
             if not (isinstance(item, dict) and DIRECTIVE in item)]
    position = 0
    for item in items:
        while position < len(order) and _index_of([order[position]], item, merge_key) < 0:
            position += 1
        if position == len(order):
            raise bad_request(f"{path}: the order in the patch list {json.dumps(patch_list)} "
                              f"doesn't match {key} {json.dumps(order)}")
        position += 1


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _missing_merge_key(path: str, item: dict[str, Any], merge_key: str) -> APIStatusError:
    return bad_request(f"{path}: map: {json.dumps(item)} does not contain declared merge key: "
                       f"{merge_key}")


def apply_strategic_merge_patch(obj: dict[str, Any], patch: Any,
                                gvk: GVK | None = None) -> dict[str, Any]:
    """Apply a strategic merge patch to a copy of `obj` using the schema of `gvk`."""
    gvk = gvk or GVK.of(obj)
    node = schema_for(gvk)
    if node is None:
        raise APIStatusError(
            415, "UnsupportedMediaType",
            f"strategic merge patch is not supported for {gvk.kind or 'this kind'} "
            f"({gvk.api_version}); use application/merge-patch+json or json-patch+json")
    if not isinstance(patch, dict):
        raise bad_request("strategic merge patch must be a JSON object")
    return _Merger().merge_map(copy.deepcopy(obj), copy.deepcopy(patch), node, "")
