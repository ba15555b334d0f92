"""Discovery documents built from the resource registry: /version, /api, /apis, per-group and
per-group-version lists, and aggregated discovery (apidiscovery.k8s.io v2 and v2beta1).

kubectl decides the format only from the response Content-Type, so aggregated documents carry the
exact `application/json;g=apidiscovery.k8s.io;v=<v>;as=APIGroupDiscoveryList` type; 1.27–1.29
ask for v2beta1 only, 1.30+ for v2 first.
"""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from typing import Any

from kubeadmpy.config.defaults import KUBERNETES_VERSION
from kubeadmpy.machinery.registry import JSONObject, ResourceRegistry, ResourceSpec

# The release this control plane emulates; the installer and the kubelet report the same one.
SERVED_KUBERNETES_VERSION = tuple(int(part) for part in KUBERNETES_VERSION.lstrip("v").split("."))
AGGREGATED_VERSIONS = ("v2", "v2beta1")
_BUILD_DATE = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def version_info() -> JSONObject:
    major, minor, patch = SERVED_KUBERNETES_VERSION
    return {"major": str(major), "minor": str(minor),
            "gitVersion": f"v{major}.{minor}.{patch}+kubeadmpy", "gitCommit": "",
            "gitTreeState": "clean", "buildDate": _BUILD_DATE,
            "goVersion": f"python{sys.version_info.major}.{sys.version_info.minor}",
            "compiler": "cpython", "platform": f"linux/{_arch()}"}


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def aggregated_version(accept: str) -> str | None:
    """The apidiscovery version to answer with (first acceptable), or None for legacy."""
    for entry in accept.split(","):
        parts = [p.strip() for p in entry.split(";")]
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if (params.get("g") == "apidiscovery.k8s.io" and params.get("as") ==
                "APIGroupDiscoveryList" and params.get("v") in AGGREGATED_VERSIONS):
            return params["v"]
    return None


def aggregated_content_type(version: str) -> str:
    return f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"


def api_versions(server_address: str) -> JSONObject:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def _group_entry(name: str, versions: list[str]) -> JSONObject:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(registry: ResourceRegistry) -> JSONObject:
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group_entry(g, v) for g, v in registry.groups().items()]}


def api_group(registry: ResourceRegistry, group: str) -> JSONObject | None:
    versions = registry.groups().get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def _legacy_entry(spec: ResourceSpec) -> list[JSONObject]:
    main: JSONObject = {"name": spec.plural, "singularName": spec.singular,
                        "namespaced": spec.namespaced, "kind": spec.kind,
                        "verbs": list(spec.verbs)}
    if spec.short_names:
        main["shortNames"] = list(spec.short_names)
    if spec.categories:
        main["categories"] = list(spec.categories)
    rows = [main]
    for sub in spec.subresources:
        row: JSONObject = {"name": f"{spec.plural}/{sub.name}", "singularName": "",
                           "namespaced": spec.namespaced, "kind": sub.kind or spec.kind,
                           "verbs": list(sub.verbs)}
        if sub.group or sub.version:
            row["group"], row["version"] = sub.group, sub.version
        rows.append(row)
    return rows


def resource_list(registry: ResourceRegistry, group: str, version: str) -> JSONObject | None:
    specs = registry.in_group_version(group, version)
    if not specs:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [row for spec in specs for row in _legacy_entry(spec)]}


def _aggregated_resource(spec: ResourceSpec) -> JSONObject:
    entry: JSONObject = {
        "resource": spec.plural, "singularResource": spec.singular,
        "scope": "Namespaced" if spec.namespaced else "Cluster", "verbs": list(spec.verbs),
        "responseKind": {"group": spec.group, "version": spec.version, "kind": spec.kind},
    }
    if spec.short_names:
        entry["shortNames"] = list(spec.short_names)
    if spec.categories:
        entry["categories"] = list(spec.categories)
    subs = []
    for sub in spec.subresources:
        subs.append({"subresource": sub.name, "verbs": list(sub.verbs),
                     "responseKind": {"group": sub.group if sub.kind else spec.group,
                                      "version": sub.version or spec.version,
                                      "kind": sub.kind or spec.kind}})
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(registry: ResourceRegistry, *, core: bool, version: str) -> JSONObject:
    groups: dict[str, dict[str, list[JSONObject]]] = {}
    for spec in registry.all():
        if (spec.group == "") != core:
            continue
        versions = groups.setdefault(spec.group, {})
        versions.setdefault(spec.version, []).append(_aggregated_resource(spec))
    items: list[Any] = [
        {"metadata": {"name": group},
         "versions": [{"version": v, "resources": resources, "freshness": "Current"}
                      for v, resources in versions.items()]}
        for group, versions in groups.items()]
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": items}
