"""The endpoints controller: a Service's v1 Endpoints object lists the pods behind it.

For every Service with a selector, the Endpoints of the same name holds one subset per distinct
port set, with ready pods under `addresses` and the others under `notReadyAddresses` (sorted by
IP, so an unchanged set of pods never causes a write). Terminating pods are left out unless the
Service publishes not-ready addresses; past 1,000 addresses the list is truncated and
annotated `endpoints.kubernetes.io/over-capacity: truncated`, as upstream (EndpointSlices
carry every endpoint). The object follows the Service's labels and goes away
with it. Pods are mapped to Services by selector and, for pods whose labels no longer match, by
the Endpoints that still list them — so removals are level-triggered too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeadmpy.client import Controller, Request, Result
from kubeadmpy.controllers.cluster import backends
from kubeadmpy.controllers.cluster.common import (
    JSONObject,
    delete_if_present,
    is_terminating,
    meta,
    name_of,
    namespace_of,
    spec,
    writable,
)
from kubeadmpy.controllers.registry import ControllerContext

NAME = "endpoints-controller"
POD_INDEX = "pods"
MAX_ADDRESSES = 1000  # upstream's cap for v1 Endpoints; EndpointSlices carry the rest
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"


def _listed_pods(endpoints: JSONObject) -> list[str]:
    entries = [a for subset in endpoints.get("subsets") or []
               for a in [*(subset.get("addresses") or []),
                         *(subset.get("notReadyAddresses") or [])]]
    return backends.pod_targets(endpoints, entries)


def build_subsets(service: Mapping[str, Any], pods: list[JSONObject]) -> list[JSONObject]:
    publish_all = bool(spec(service).get("publishNotReadyAddresses"))
    groups: dict[tuple[backends.EndpointPort, ...], tuple[list[JSONObject], list[JSONObject]]] = {}
    for pod in pods:
        if not backends.is_candidate(pod) or (is_terminating(pod) and not publish_all):
            continue
        ports = backends.pod_ports(service, pod)
        if spec(service).get("ports") and not ports:
            continue
        ready, not_ready = groups.setdefault(ports, ([], []))
        primary = backends.service_families(service)[0]
        # v1 Endpoints: one address per pod, of the Service's primary family
        for ip in [ip for ip in backends.pod_ips(pod) if backends.ip_family(ip) == primary][:1]:
            address: JSONObject = {"ip": ip, "targetRef": backends.target_ref(pod)}
            if spec(pod).get("nodeName"):
                address["nodeName"] = spec(pod)["nodeName"]
            (ready if publish_all or backends.is_ready(pod) else not_ready).append(address)
    subsets = []
    for ports, (ready, not_ready) in sorted(groups.items(), key=lambda item: repr(item[0])):
        subset: JSONObject = {}
        if ready:
            subset["addresses"] = sorted(ready, key=lambda a: a["ip"])
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=lambda a: a["ip"])
        if ports:
            subset["ports"] = [p.as_api() for p in ports]
        subsets.append(subset)
    return subsets


def truncate(subsets: list[JSONObject]) -> tuple[list[JSONObject], bool]:
    """At most MAX_ADDRESSES addresses, ready ones kept first, each subset keeping its share
    in proportion to its size (as upstream); whether anything was cut."""
    total = sum(len(s.get("addresses") or []) + len(s.get("notReadyAddresses") or [])
                for s in subsets)
    if total <= MAX_ADDRESSES:
        return subsets, False
    cut = []
    for subset in subsets:
        size = len(subset.get("addresses") or []) + len(subset.get("notReadyAddresses") or [])
        share = size * MAX_ADDRESSES // total
        ready = (subset.get("addresses") or [])[:share]
        waiting = (subset.get("notReadyAddresses") or [])[:share - len(ready)]
        trimmed = {k: v for k, v in subset.items()
                   if k not in ("addresses", "notReadyAddresses")}
        if ready:
            trimmed["addresses"] = ready
        if waiting:
            trimmed["notReadyAddresses"] = waiting
        cut.append(trimmed)
    return cut, True


class EndpointsController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.services = ctx.informers.informer("services")
        self.pods = ctx.informers.informer("pods")
        self.endpoints = ctx.informers.informer("endpoints",
                                                indexers={POD_INDEX: _listed_pods})
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock,
                                     workers=ctx.options.concurrent_endpoint_syncs)
        self.controller.watch(self.services)
        self.controller.watch(self.endpoints)
        self.controller.watch(self.pods, self._services_of)

    def _services_of(self, pod: JSONObject) -> list[Request]:
        namespace = namespace_of(pod)
        requests = {Request.of(svc) for svc in self.services.store.list(namespace)
                    if (sel := backends.selector_of(svc)) is not None
                    and backends.selects(sel, pod)}
        key = f"{namespace}/{name_of(pod)}"
        requests.update(Request.of(ep) for ep in self.endpoints.store.by_index(POD_INDEX, key))
        return sorted(requests)

    async def run(self) -> None:
        await self.controller.run()

    async def reconcile(self, request: Request) -> Result | None:
        service = self.services.store.get(request.key)
        current = self.endpoints.store.get(request.key)
        if service is None:
            if current is not None:
                await delete_if_present(self.client, "endpoints", request.name,
                                        request.namespace)
            return None
        selector = backends.selector_of(service)
        if selector is None:
            return None  # endpoints of selector-less services are the user's
        pods = [p for p in self.pods.store.list(request.namespace)
                if backends.selects(selector, p)]
        subsets, truncated = truncate(build_subsets(service, pods))
        labels = backends.managed_labels(service)
        if current is None:
            body: JSONObject = {"apiVersion": "v1", "kind": "Endpoints",
                                "metadata": {"name": request.name,
                                             "namespace": request.namespace,
                                             "labels": labels}}
            if truncated:
                body["metadata"]["annotations"] = {OVER_CAPACITY: "truncated"}
            if subsets:
                body["subsets"] = subsets
            await self.client.create("endpoints", body, request.namespace)
            return None
        annotations = dict(meta(current).get("annotations") or {})
        annotations.pop(OVER_CAPACITY, None)
        if truncated:
            annotations[OVER_CAPACITY] = "truncated"
        if (current.get("subsets") or []) == subsets and \
                (meta(current).get("labels") or {}) == labels and \
                (meta(current).get("annotations") or {}) == annotations:
            return None
        changed = writable(current)
        changed["metadata"]["labels"] = labels
        changed["metadata"]["annotations"] = annotations
        changed["subsets"] = subsets
        await self.client.update("endpoints", changed, request.namespace)
        return None


def new_controller(ctx: ControllerContext) -> EndpointsController:
    return EndpointsController(ctx)
