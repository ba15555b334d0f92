"""The Kubernetes type schemas, loaded once from the `kubernetes-validate` package.

Validation, the OpenAPI documents kubectl reads, strategic merge patch and server-side apply all
need the same facts about the built-in types: field names, descriptions, required fields and the
list/patch extensions (`x-kubernetes-patch-merge-key`, `-patch-strategy`, `-list-type`,
`-list-map-keys`, `-map-type`). Rather than hand-written tables, we read the upstream-generated JSON
schemas that `kubernetes-validate` ships, lazily and once per version, and give callers a small
navigable view (`SchemaNode`) with `$ref` already resolved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

#: The Kubernetes minor our API server speaks; the bundled schemas go up to 1.37.
DEFAULT_VERSION = "1.33"

JSONObject = dict[str, Any]
_REF_PREFIX = "#/$defs/"


@dataclass(frozen=True)
class GVK:
    """A group/version/kind triple; the core group is ""."""

    group: str
    version: str
    kind: str

    @classmethod
    def of(cls, obj: JSONObject) -> GVK:
        """The GVK an object names in its apiVersion and kind."""
        api_version = str(obj.get("apiVersion") or "")
        group, _, version = api_version.rpartition("/")
        return cls(group, version, str(obj.get("kind") or ""))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass(frozen=True)
class PatchMeta:
    """How a field takes part in strategic merge patch and server-side apply."""

    strategies: tuple[str, ...] = ()  # "merge", "retainKeys", "replace"
    merge_key: str = ""
    list_type: str = ""  # "atomic" | "set" | "map" | "" (unspecified: atomic for apply)
    map_keys: tuple[str, ...] = ()
    map_type: str = ""  # "atomic" | "granular" | ""

    @property
    def merges(self) -> bool:
        return "merge" in self.strategies

    @property
    def retains_keys(self) -> bool:
        return "retainKeys" in self.strategies


class SchemaNode:
    """A schema with its `$ref` resolved; children are built on demand and cached."""

    __slots__ = ("_children", "_items", "_meta", "_resolved", "_values", "definitions", "name",
                 "raw")

    def __init__(self, definitions: Definitions, raw: JSONObject, name: str = "") -> None:
        self.definitions = definitions
        self.raw = raw
        self.name = name  # definition name when this node is a whole definition
        self._children: dict[str, SchemaNode | None] = {}
        self._items: SchemaNode | None = None
        self._values: SchemaNode | None = None
        self._resolved = False  # items/values looked up yet
        self._meta: PatchMeta | None = None

    @property
    def types(self) -> tuple[str, ...]:
        """Declared JSON types without "null"; () means any (IntOrString, Quantity, free form)."""
        declared = self.raw.get("type")
        if declared is None:
            return ()
        if isinstance(declared, str):
            return (declared,)
        return tuple(t for t in declared if t != "null")

    @property
    def description(self) -> str:
        return str(self.raw.get("description", ""))

    @property
    def properties(self) -> JSONObject:
        props: JSONObject = self.raw.get("properties") or {}
        return props

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(self.raw.get("required") or ())

    def field(self, name: str) -> SchemaNode | None:
        """Schema of property `name`, or None when the object does not declare it."""
        if name in self._children:
            return self._children[name]
        raw = self.properties.get(name)
        child = self.definitions.node_for(raw) if raw is not None else None
        self._children[name] = child
        return child

    def _resolve(self) -> None:
        items = self.raw.get("items")
        values = self.raw.get("additionalProperties")
        self._items = self.definitions.node_for(items) if isinstance(items, dict) else None
        self._values = self.definitions.node_for(values) if isinstance(values, dict) else None
        self._resolved = True

    @property
    def items(self) -> SchemaNode | None:
        """Schema of the elements of a list."""
        if not self._resolved:
            self._resolve()
        return self._items

    @property
    def values(self) -> SchemaNode | None:
        """Schema of the values of a map (`additionalProperties`)."""
        if not self._resolved:
            self._resolve()
        return self._values

    @property
    def patch_meta(self) -> PatchMeta:
        if self._meta is None:
            self._meta = self._read_patch_meta()
        return self._meta

    def _read_patch_meta(self) -> PatchMeta:
        raw = self.raw
        strategy = raw.get("x-kubernetes-patch-strategy", "")
        return PatchMeta(
            strategies=tuple(s for s in strategy.split(",") if s),
            merge_key=raw.get("x-kubernetes-patch-merge-key", ""),
            list_type=raw.get("x-kubernetes-list-type", ""),
            map_keys=tuple(raw.get("x-kubernetes-list-map-keys") or ()),
            map_type=raw.get("x-kubernetes-map-type", ""),
        )


class Definitions:
    """All definitions of one Kubernetes version, indexed by name and by GVK."""

    def __init__(self, version: str, defs: dict[str, JSONObject]) -> None:
        self.version = version
        self.defs = defs
        self._nodes: dict[str, SchemaNode] = {}
        self._by_gvk: dict[GVK, str] = {}
        for name, schema in defs.items():
            for gvk in schema.get("x-kubernetes-group-version-kind") or ():
                key = GVK(gvk.get("group", ""), gvk["version"], gvk["kind"])
                # meta.v1 kinds (DeleteOptions, WatchEvent) are tagged with every group;
                # the first definition seen wins, which keeps the index stable.
                self._by_gvk.setdefault(key, name)

    def definition_name(self, gvk: GVK) -> str | None:
        return self._by_gvk.get(gvk)

    def named(self, name: str) -> SchemaNode:
        node = self._nodes.get(name)
        if node is None:
            node = SchemaNode(self, self.defs[name], name)
            self._nodes[name] = node
        return node

    def node_for(self, raw: JSONObject) -> SchemaNode:
        """A node for an inline schema; a `$ref` merges the target with the local extensions.

        A property that is a `$ref` can carry its own extensions (Deployment.spec.strategy has
        `x-kubernetes-patch-strategy: retainKeys` next to its ref), so those must survive.
        """
        ref = raw.get("$ref")
        if ref is None:
            return SchemaNode(self, raw)
        target = ref_name(ref)
        extras = {k: v for k, v in raw.items() if k not in ("$ref", "description")}
        if not extras:
            return self.named(target)
        merged = dict(self.defs[target])
        merged.update(extras)
        return SchemaNode(self, merged, target)

    def for_gvk(self, gvk: GVK) -> SchemaNode | None:
        name = self.definition_name(gvk)
        return self.named(name) if name is not None else None


def ref_name(ref: str) -> str:
    """`#/$defs/io.k8s.api.core.v1.Pod` → `io.k8s.api.core.v1.Pod`."""
    if not ref.startswith(_REF_PREFIX):
        raise ValueError(f"unsupported $ref {ref!r}")
    return ref[len(_REF_PREFIX):]


@cache
def load(version: str = DEFAULT_VERSION) -> Definitions:
    """The definitions of Kubernetes `version` ("1.33"), read once per process."""
    folder = resources.files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", f"v{version}.0-local")
    text = folder.joinpath("_definitions.json").read_text(encoding="utf-8")
    return Definitions(version, json.loads(text)["$defs"])


def schema_for(gvk: GVK, version: str = DEFAULT_VERSION) -> SchemaNode | None:
    """The schema of a kind, or None for kinds Kubernetes does not define (CRDs)."""
    return load(version).for_gvk(gvk)


def patch_meta_at(gvk: GVK, path: list[str], version: str = DEFAULT_VERSION) -> PatchMeta:
    """Patch metadata of the field at `path` (property names; list items are transparent).

    `patch_meta_at(GVK("", "v1", "Pod"), ["spec", "containers"])` → merge key "name".
    Unknown paths give an empty `PatchMeta` (atomic replace), as upstream does for unknown fields.
    """
    node = schema_for(gvk, version)
    for name in path:
        if node is None:
            return PatchMeta()
        while node is not None and "array" in node.types:
            node = node.items
        node = node.field(name) if node is not None else None
    return node.patch_meta if node is not None else PatchMeta()
