"""The resource registry: one table entry per API resource drives routing, discovery and tables.

Adding a resource to the apiserver means adding a `ResourceSpec` (names, scope, verbs,
subresources, table columns) and, when the kind has rules of its own, a `Strategy` subclass
(defaulting, validation, status and immutable fields). Handlers never special-case a kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kubeadmpy.machinery.status import Cause

JSONObject = dict[str, Any]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class Column:
    """A server-side Table column; `cell(obj, now)` returns the pre-formatted value."""

    name: str
    type: str
    cell: Callable[[JSONObject, float], Any]
    format: str = ""
    description: str = ""
    priority: int = 0

    def definition(self) -> JSONObject:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description or self.name, "priority": self.priority}


@dataclass(frozen=True)
class Subresource:
    """`status`, `scale`, `binding`…: a kind of its own when it lives in another group."""

    name: str
    verbs: tuple[str, ...]
    group: str = ""
    version: str = ""
    kind: str = ""


class Strategy:
    """Kind-specific rules; the default is a plain object without spec/status rules.

    Hooks mutate objects in place. Validation returns causes (empty = valid); the REST layer
    turns them into a 422. `env` is the apiserver's service locator (allocators, storage).
    """

    #: Kinds with a status subresource ignore `.status` on the main resource.
    has_status: bool = False
    #: Kinds whose spec changes bump metadata.generation.
    tracks_generation: bool = False
    #: How names are checked: "subdomain" (most kinds), "label" (namespaces, services) or
    #: "path-segment" (RBAC objects such as `system:node`).
    name_rule: str = "subdomain"
    #: Extra field-selector labels beyond metadata.name / metadata.namespace.
    field_labels: tuple[str, ...] = ()

    def default(self, obj: JSONObject) -> None:
        """Fill type defaults (on create and on every update)."""

    def prepare_for_create(self, obj: JSONObject) -> None:
        """Reset fields clients may not set on create (status of kinds with a status subresource)."""
        if self.has_status:
            obj.pop("status", None)
            self.initial_status(obj)

    def initial_status(self, obj: JSONObject) -> None:
        """Status a fresh object starts with."""

    def prepare_for_update(self, new: JSONObject, old: JSONObject) -> None:
        if self.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)

    def prepare_for_status_update(self, new: JSONObject, old: JSONObject) -> None:
        """Only `.status` (and labels/annotations) change through /status."""
        status = new.get("status")
        meta = new.get("metadata", {})
        new.clear()
        new.update({k: v for k, v in old.items() if k != "status"})
        new["metadata"] = dict(old.get("metadata", {}))
        for key in ("labels", "annotations", "resourceVersion"):
            if key in meta:
                new["metadata"][key] = meta[key]
        if status is not None:
            new["status"] = status

    def validate(self, obj: JSONObject) -> list[Cause]:
        return []

    def validate_update(self, new: JSONObject, old: JSONObject) -> list[Cause]:
        return self.validate(new)

    def selectable_fields(self, obj: JSONObject) -> dict[str, str]:
        return {}

    def begin_delete(self, obj: JSONObject, grace_seconds: int | None) -> bool:
        """Start a graceful deletion (set grace fields); True when the object must stay for now.

        Finalizers are handled by the REST layer for every kind; this is for kind rules such as
        pod grace periods and namespace termination.
        """
        return False

    def ready_to_vanish(self, obj: JSONObject) -> bool:
        """Whether an object marked for deletion with no finalizers left may now be removed."""
        return True

    async def before_create(self, obj: JSONObject, env: Any) -> None:
        """Allocate shared resources (cluster IPs…) before the object is stored."""

    async def after_delete(self, obj: JSONObject, env: Any) -> None:
        """Release what `before_create` allocated."""

    async def before_update(self, new: JSONObject, old: JSONObject, env: Any) -> list[Any]:
        """Allocate what an update newly needs; returns the claims (released if it fails)."""
        return []

    async def release_claims(self, claims: list[Any], env: Any) -> None:
        """Give back what `before_update` claimed for a write that did not happen."""

    async def after_update(self, new: JSONObject, old: JSONObject, env: Any) -> None:
        """Release what the stored update no longer uses."""


@dataclass(frozen=True)
class ResourceSpec:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    columns: tuple[Column, ...] = ()
    strategy: Strategy = field(default_factory=Strategy)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None

    def key_prefix(self, namespace: str | None = None) -> str:
        """etcd key prefix for the collection: /registry/<resource>/[<namespace>/]."""
        base = f"/registry/{self.group_resource_key}/"
        if self.namespaced and namespace:
            return f"{base}{namespace}/"
        return base

    @property
    def group_resource_key(self) -> str:
        # Upstream keys core and most group resources by plural alone; keep that layout.
        return self.plural

    def key(self, namespace: str, name: str) -> str:
        if self.namespaced:
            return f"/registry/{self.group_resource_key}/{namespace}/{name}"
        return f"/registry/{self.group_resource_key}/{name}"

    def field_labels(self) -> frozenset[str]:
        labels = {"metadata.name"}
        if self.namespaced:
            labels.add("metadata.namespace")
        return frozenset(labels | set(self.strategy.field_labels))

    def fields_of(self, obj: JSONObject) -> dict[str, str]:
        meta = obj.get("metadata", {})
        fields = {"metadata.name": meta.get("name", "")}
        if self.namespaced:
            fields["metadata.namespace"] = meta.get("namespace", "")
        fields.update(self.strategy.selectable_fields(obj))
        return fields


class ResourceRegistry:
    """All served resources, looked up by (group, version, plural) and grouped for discovery."""

    def __init__(self, specs: Iterable[ResourceSpec] = ()) -> None:
        self._specs: dict[tuple[str, str, str], ResourceSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ResourceSpec) -> None:
        key = (spec.group, spec.version, spec.plural)
        if key in self._specs:
            raise ValueError(f"resource {spec.group_resource}/{spec.version} registered twice")
        self._specs[key] = spec

    def lookup(self, group: str, version: str, plural: str) -> ResourceSpec | None:
        return self._specs.get((group, version, plural))

    def all(self) -> list[ResourceSpec]:
        return list(self._specs.values())

    def groups(self) -> dict[str, list[str]]:
        """group → versions, preferred first, core group excluded."""
        out: dict[str, list[str]] = {}
        for spec in self._specs.values():
            if spec.group:
                versions = out.setdefault(spec.group, [])
                if spec.version not in versions:
                    versions.append(spec.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceSpec]:
        return [s for s in self._specs.values() if s.group == group and s.version == version]
