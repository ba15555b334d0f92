"""Discovery: map a resource name or kind to its group, version and scope, as kubectl does.

Tried in order: the static built-in table (no round trip), then aggregated discovery (`/api` and
`/apis` asking for apidiscovery.k8s.io v2 then v2beta1; the answer's Content-Type says which it
is), then legacy discovery (`/api/v1` and each `/apis/<group>/<version>`). Results are cached
per client; an unknown name triggers one refresh before `NotFound`, since CRDs come and go.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from kubeadmpy.client import errors
from kubeadmpy.client.resources import (
    ResourceInfo,
    builtin_lookup,
    from_aggregated,
    from_discovery,
)

if TYPE_CHECKING:
    from kubeadmpy.client.rest import Client

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json")


class Discovery:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._resources: list[ResourceInfo] | None = None
        self._lock = asyncio.Lock()
        self.aggregated: bool | None = None  # what the server answered last time
        self.ask_aggregated = True  # False: legacy discovery only (servers before 1.26)

    async def resolve(self, ref: str) -> ResourceInfo:
        info = builtin_lookup(ref)
        if info is not None:
            return info
        for refresh in (False, True):
            found = _match(await self.resources(refresh=refresh), ref)
            if found is not None:
                return found
        raise errors.NotFound(404, "NotFound", f"the server doesn't have a resource type "
                              f"{ref!r}")

    async def resources(self, refresh: bool = False) -> list[ResourceInfo]:
        """Every resource the server serves (preferred and other versions)."""
        async with self._lock:
            if self._resources is None or refresh:
                self._resources = await self._fetch()
            return self._resources

    async def _fetch(self) -> list[ResourceInfo]:
        found: list[ResourceInfo] = []
        aggregated = True
        for path in ("/api", "/apis"):
            try:
                body = await self.client.request(
                    "GET", path, accept=AGGREGATED_ACCEPT if self.ask_aggregated else
                    "application/json")
            except errors.NotFound:
                continue
            if isinstance(body, dict) and body.get("kind") == "APIGroupDiscoveryList":
                found += _aggregated(body)
            else:
                aggregated = False
                found += await self._legacy(path, body)
        self.aggregated = aggregated
        return found

    async def _legacy(self, path: str, body: Any) -> list[ResourceInfo]:
        versions: list[str] = []
        if path == "/api":
            versions = [f"/api/{v}" for v in body.get("versions", [])]
        else:
            for group in body.get("groups", []):
                versions += [f"/apis/{v['groupVersion']}" for v in group.get("versions", [])]
        lists = await asyncio.gather(*(self.client.request("GET", p) for p in versions),
                                     return_exceptions=True)
        found: list[ResourceInfo] = []
        for gv_path, listing in zip(versions, lists, strict=True):
            if isinstance(listing, BaseException):
                continue  # a broken aggregated API must not hide the others (kubectl's rule)
            group_version = gv_path.removeprefix("/api/").removeprefix("/apis/")
            group, _, version = group_version.rpartition("/")
            for entry in listing.get("resources", []):
                info = from_discovery(group, version, entry)
                if info is not None:
                    found.append(info)
        return found


def _aggregated(body: dict[str, Any]) -> list[ResourceInfo]:
    found: list[ResourceInfo] = []
    for item in body.get("items", []):
        group = (item.get("metadata") or {}).get("name", "")
        for version in item.get("versions", []):
            for entry in version.get("resources", []):
                info = from_aggregated(group, version.get("version", ""), entry)
                if info is not None:
                    found.append(info)
    return found


def _match(resources: list[ResourceInfo], ref: str) -> ResourceInfo | None:
    """`widgets`, `Widget`, `widgets.example.com`, `example.com/v1/Widget`; the first listed
    version of a group is its preferred one, so first match wins."""
    if "/" in ref:
        api_version, _, name = ref.rpartition("/")
        return next((r for r in resources if r.api_version == api_version
                     and name in (r.kind, r.plural)), None)
    name, _, group = ref.partition(".")
    for info in resources:
        if group and info.group != group:
            continue
        if name in (info.plural, info.kind, info.singular, *info.short_names):
            return info
    return None
