"""Parsing resource URLs: /api/v1/... and /apis/<group>/<version>/... into a `Target`."""

from __future__ import annotations

from dataclasses import dataclass

from kubeadmpy.machinery import status
from kubeadmpy.machinery.registry import ResourceRegistry, ResourceSpec


@dataclass(frozen=True)
class Target:
    spec: ResourceSpec
    namespace: str  # "" = cluster-scoped, or every namespace for a namespaced collection
    name: str  # "" = the collection
    subresource: str = ""
    rest: str = ""  # path after a proxy subresource

    @property
    def is_collection(self) -> bool:
        return not self.name


def resolve(registry: ResourceRegistry, path: str) -> Target | None:
    """The resource a path names, None when the path is not a resource path at all."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        candidate = registry.lookup(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    spec = registry.lookup(group, version, rest[0])
    if spec is None:
        raise status.path_not_found()
    if spec.namespaced is False and namespace:
        raise status.path_not_found()
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    extra = "/".join(rest[3:])
    if sub and spec.subresource(sub) is None:
        raise status.path_not_found()
    if extra and sub != "proxy":
        raise status.path_not_found()
    return Target(spec, namespace, name, sub, extra)
