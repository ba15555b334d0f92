"""The informer's local copy of the objects, indexed so controllers can ask cheap questions.

Keys are client-go's `namespace/name` (just `name` for cluster-scoped objects). The `namespace`
index always exists; components add their own index functions, e.g. pods by `spec.nodeName` for
a kubelet or a scheduler's per-node accounting. Objects handed out are the cached dicts
themselves: treat them as read-only (copy before changing, as with client-go's listers).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from typing import Any

JSONObject = dict[str, Any]
IndexFunc = Callable[[JSONObject], Iterable[str]]
NAMESPACE_INDEX = "namespace"


def object_key(obj: JSONObject) -> str:
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace") or "", meta.get("name") or ""
    return f"{namespace}/{name}" if namespace else str(name)


def split_key(key: str) -> tuple[str, str]:
    """(namespace, name); namespace is "" for cluster-scoped keys."""
    namespace, _, name = key.rpartition("/")
    return namespace, name


def namespace_index(obj: JSONObject) -> list[str]:
    return [str((obj.get("metadata") or {}).get("namespace") or "")]


def pods_by_node_name(obj: JSONObject) -> list[str]:
    """Index pods by `spec.nodeName` (unscheduled pods under "")."""
    return [str((obj.get("spec") or {}).get("nodeName") or "")]


class Store:
    def __init__(self, indexers: dict[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, JSONObject] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: namespace_index,
                                                **(indexers or {})}
        self._indices: dict[str, dict[str, set[str]]] = {n: {} for n in self._indexers}

    def add_indexer(self, name: str, func: IndexFunc) -> None:
        self._indexers[name] = func
        index: dict[str, set[str]] = {}
        for key, obj in self._items.items():
            for value in func(obj):
                index.setdefault(value, set()).add(key)
        self._indices[name] = index

    def upsert(self, obj: JSONObject) -> JSONObject | None:
        """Store `obj`; the previous version, if any."""
        key = object_key(obj)
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        for name, func in self._indexers.items():
            for value in func(obj):
                self._indices[name].setdefault(value, set()).add(key)
        return old

    def remove(self, key: str) -> JSONObject | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def _unindex(self, key: str, obj: JSONObject) -> None:
        for name, func in self._indexers.items():
            index = self._indices[name]
            for value in func(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]

    def get(self, key: str) -> JSONObject | None:
        return self._items.get(key)

    def get_by_name(self, name: str, namespace: str = "") -> JSONObject | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def list(self, namespace: str | None = None) -> builtins.list[JSONObject]:
        if namespace is None:
            return list(self._items.values())
        return self.by_index(NAMESPACE_INDEX, namespace)

    def by_index(self, index: str, value: str) -> builtins.list[JSONObject]:
        if index not in self._indices:
            raise KeyError(f"no index named {index!r} (known: {sorted(self._indices)})")
        return [self._items[k] for k in sorted(self._indices[index].get(value, ()))]

    def index_values(self, index: str) -> builtins.list[str]:
        return sorted(self._indices[index])

    def keys(self) -> builtins.list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items
