"""The in-memory indexes every answer is computed from, kept current by informer events.

A query must never wait for the API server, so the server answers from these maps only: one
`ServiceView` per Service (rebuilt from the Service and its slices whenever either changes, so
the cost of an event is the size of one Service, not of the cluster), the set of namespaces
(CoreDNS answers NXDOMAIN under a namespace that does not exist), and an IP → names map for PTR.
`generation` moves on every change and `changes_since` says what changed (one Service, or
everything for a namespace event), so the server drops only the cached answers that depend on it;
`serial` (the time of the last change, as CoreDNS's SOA serial) tells humans that data moved.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubeadmpy.client.informer import EventHandler
from kubeadmpy.dns.records import ServiceView, service_view, slice_service_name

JSONObject = dict[str, Any]
Key = tuple[str, str]  # (namespace, service name)
EVERYTHING: Key = ("*", "*")  # a change every answer may depend on (namespaces come and go)
CHANGE_LOG = 4096  # changes kept for consumers; one further behind starts over


def _meta(obj: JSONObject) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class ClusterIndex:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._services: dict[Key, JSONObject] = {}
        self._slices: dict[Key, dict[str, JSONObject]] = {}
        self._slice_owner: dict[Key, str] = {}  # (namespace, slice name) -> service name
        self.views: dict[Key, ServiceView] = {}
        self.namespaces: set[str] = set()
        # ip -> {(namespace, service): hostnames}; "" stands for the Service's own name.
        self.reverse: dict[str, dict[Key, tuple[str, ...]]] = {}
        self._log: list[Key] = []  # the change that made each generation after _log_start
        self._log_start = 0
        self.serial = int(clock())

    # --- reads -------------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        return self._log_start + len(self._log)

    def changes_since(self, generation: int) -> set[Key]:
        """The Services changed after `generation` ({EVERYTHING} when a namespace changed or
        the log no longer reaches back that far)."""
        if generation < self._log_start:
            return {EVERYTHING}
        return set(self._log[generation - self._log_start:])

    def view(self, namespace: str, name: str) -> ServiceView | None:
        return self.views.get((namespace, name))

    def names_for_ip(self, ip: str) -> list[tuple[str, str, str]]:
        """(hostname or "", service, namespace) for every name pointing at `ip`, sorted."""
        owners = self.reverse.get(ip) or {}
        return sorted((host, name, namespace) for (namespace, name), hosts in owners.items()
                      for host in hosts)

    # --- event handlers ----------------------------------------------------------------------

    def service_handler(self) -> EventHandler:
        return EventHandler(on_add=self.set_service,
                            on_update=lambda _old, new: self.set_service(new),
                            on_delete=self.delete_service)

    def slice_handler(self) -> EventHandler:
        return EventHandler(on_add=self.set_slice, on_update=lambda _old, new: self.set_slice(new),
                            on_delete=self.delete_slice)

    def namespace_handler(self) -> EventHandler:
        return EventHandler(on_add=lambda ns: self._namespace(ns, True),
                            on_update=lambda _old, new: self._namespace(new, True),
                            on_delete=lambda ns: self._namespace(ns, False))

    def set_service(self, service: JSONObject) -> None:
        key = _meta(service)
        self._services[key] = service
        self._rebuild(key)

    def delete_service(self, service: JSONObject) -> None:
        key = _meta(service)
        self._services.pop(key, None)
        self._rebuild(key)

    def set_slice(self, endpoint_slice: JSONObject) -> None:
        namespace, name = _meta(endpoint_slice)
        previous = self._slice_owner.get((namespace, name))
        owner = slice_service_name(endpoint_slice)
        if previous is not None and previous != owner:  # relabelled: leave the old Service
            self._drop_slice(namespace, name, previous)
        if not owner:
            self._slice_owner.pop((namespace, name), None)
            return
        self._slice_owner[(namespace, name)] = owner
        self._slices.setdefault((namespace, owner), {})[name] = endpoint_slice
        self._rebuild((namespace, owner))

    def delete_slice(self, endpoint_slice: JSONObject) -> None:
        namespace, name = _meta(endpoint_slice)
        owner = self._slice_owner.pop((namespace, name), None)
        if owner is not None:
            self._drop_slice(namespace, name, owner)

    def set_namespace(self, name: str, present: bool = True) -> None:
        if present:
            self.namespaces.add(name)
        else:
            self.namespaces.discard(name)
        self._changed(EVERYTHING)

    # --- internals ---------------------------------------------------------------------------

    def _namespace(self, namespace: JSONObject, present: bool) -> None:
        self.set_namespace(_meta(namespace)[1], present)

    def _drop_slice(self, namespace: str, name: str, owner: str) -> None:
        slices = self._slices.get((namespace, owner))
        if slices is not None:
            slices.pop(name, None)
            if not slices:
                del self._slices[(namespace, owner)]
        self._rebuild((namespace, owner))

    def _rebuild(self, key: Key) -> None:
        old = self.views.pop(key, None)
        if old is not None:
            self._unindex_reverse(key, old)
        service = self._services.get(key)
        if service is not None:
            view = service_view(service, (self._slices.get(key) or {}).values())
            self.views[key] = view
            self._index_reverse(key, view)
        self._changed(key)

    def _index_reverse(self, key: Key, view: ServiceView) -> None:
        for ip in view.cluster_ips:
            self._add_reverse(ip, key, "")
        for endpoint in view.endpoints:
            self._add_reverse(endpoint.ip, key, endpoint.hostname)

    def _add_reverse(self, ip: str, key: Key, host: str) -> None:
        owners = self.reverse.setdefault(ip, {})
        if host not in owners.get(key, ()):
            owners[key] = (*owners.get(key, ()), host)

    def _unindex_reverse(self, key: Key, view: ServiceView) -> None:
        for ip in {*view.cluster_ips, *(e.ip for e in view.endpoints)}:
            owners = self.reverse.get(ip)
            if owners is not None:
                owners.pop(key, None)
                if not owners:
                    del self.reverse[ip]

    def _changed(self, key: Key) -> None:
        self._log.append(key)
        if len(self._log) > CHANGE_LOG:
            drop = len(self._log) // 2
            del self._log[:drop]
            self._log_start += drop
        self.serial = max(self.serial, int(self._clock()))
