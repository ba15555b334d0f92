"""The endpointslice controller: a Service's discovery.k8s.io/v1 EndpointSlices.

Each Service with a selector owns slices labelled `kubernetes.io/service-name=<service>` and
`endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io`, with the Service as
controlling owner. Endpoints are grouped by address type and by the port set they serve, at
most 100 per slice; each carries upstream's conditions: `ready` (Ready and not terminating),
`serving` (Ready), `terminating`. A Service without backends keeps one empty slice, as
upstream. Existing slices are reused in place (an empty placeholder becomes the first real slice), so
only changed slices are written; a Service
whose newly created slice the cache has not shown yet waits for it (upstream's slice tracker),
so a burst of pod events never creates duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeadmpy.client import Controller, Request, Result
from kubeadmpy.client.clock import Clock
from kubeadmpy.controllers.cluster import backends
from kubeadmpy.controllers.cluster.common import (
    JSONObject,
    delete_if_present,
    is_terminating,
    meta,
    name_of,
    namespace_of,
    owner_reference,
    spec,
    status,
    writable,
)
from kubeadmpy.controllers.registry import ControllerContext

NAME = "endpointslice-controller"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS_PER_SLICE = 100
POD_INDEX, SERVICE_INDEX = "pods", "service"
UNOBSERVED_TIMEOUT = 30.0

SliceKey = tuple[str, tuple[backends.EndpointPort, ...]]


def _service_of_slice(slice_: JSONObject) -> list[str]:
    labels = meta(slice_).get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY or not labels.get(SERVICE_NAME_LABEL):
        return []
    return [f"{namespace_of(slice_)}/{labels[SERVICE_NAME_LABEL]}"]


def _listed_pods(slice_: JSONObject) -> list[str]:
    return backends.pod_targets(slice_, list(slice_.get("endpoints") or []))


def desired_slices(service: Mapping[str, Any], pods: list[JSONObject]
                   ) -> list[tuple[SliceKey, list[JSONObject]]]:
    """(address type + ports, endpoints) per slice to have, in a stable order."""
    groups: dict[SliceKey, list[JSONObject]] = {}
    families = backends.service_families(service)
    for pod in pods:
        ips = backends.pod_ips(pod)
        if not ips or status(pod).get("phase") in ("Succeeded", "Failed"):
            continue
        ports = backends.pod_ports(service, pod)
        if spec(service).get("ports") and not ports:
            continue
        ready, terminating = backends.is_ready(pod), is_terminating(pod)
        for ip in ips:
            family = backends.ip_family(ip)
            if family not in families:
                continue
            endpoint: JSONObject = {
                "addresses": [ip],
                "conditions": {"ready": ready and not terminating, "serving": ready,
                               "terminating": terminating},
                "targetRef": backends.target_ref(pod)}
            if spec(pod).get("nodeName"):
                endpoint["nodeName"] = spec(pod)["nodeName"]
            groups.setdefault((family, ports), []).append(endpoint)
    if not groups:
        return [((families[0], ()), [])]
    out = []
    for key in sorted(groups, key=repr):
        endpoints = sorted(groups[key], key=lambda e: (e["addresses"][0],
                                                       e["targetRef"]["name"]))
        for start in range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE):
            out.append((key, endpoints[start:start + MAX_ENDPOINTS_PER_SLICE]))
    return out


def _slice_key(slice_: Mapping[str, Any]) -> SliceKey:
    ports = tuple(backends.EndpointPort(str(p.get("name") or ""), int(p.get("port") or 0),
                                        str(p.get("protocol") or "TCP"),
                                        str(p.get("appProtocol") or ""))
                  for p in slice_.get("ports") or [])
    return str(slice_.get("addressType") or "IPv4"), ports


class EndpointSliceController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.services = ctx.informers.informer("services")
        self.pods = ctx.informers.informer("pods")
        self.clock: Clock = ctx.clock
        self._created: dict[str, dict[str, float]] = {}  # service key → slice name → when
        self.slices = ctx.informers.informer(
            "endpointslices", indexers={POD_INDEX: _listed_pods,
                                        SERVICE_INDEX: _service_of_slice})
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock,
                                     workers=ctx.options.concurrent_service_endpoint_syncs)
        self.controller.watch(self.services)
        self.controller.watch(self.slices, lambda s: [Request(*k.split("/", 1))
                                                      for k in _service_of_slice(s)])
        self.controller.watch(self.pods, self._services_of)

    def _services_of(self, pod: JSONObject) -> list[Request]:
        namespace = namespace_of(pod)
        requests = {Request.of(svc) for svc in self.services.store.list(namespace)
                    if (sel := backends.selector_of(svc)) is not None
                    and backends.selects(sel, pod)}
        key = f"{namespace}/{name_of(pod)}"
        for slice_ in self.slices.store.by_index(POD_INDEX, key):
            requests.update(Request(*k.split("/", 1)) for k in _service_of_slice(slice_))
        return sorted(requests)

    async def run(self) -> None:
        await self.controller.run()

    def _unobserved(self, key: str) -> bool:
        """Slices this controller created that its cache has not shown yet (acting now would
        create them again); forgotten after UNOBSERVED_TIMEOUT in case a watch event is lost."""
        pending = self._created.get(key)
        if not pending:
            return False
        now = self.clock.now()
        for name, at in list(pending.items()):
            if self.slices.store.get(f"{key.split('/', 1)[0]}/{name}") is not None or \
                    now - at > UNOBSERVED_TIMEOUT:
                del pending[name]
        return bool(pending)

    async def reconcile(self, request: Request) -> Result | None:
        if self._unobserved(request.key):
            return Result(requeue_after=0.1)
        service = self.services.store.get(request.key)
        existing = self.slices.store.by_index(SERVICE_INDEX, request.key)
        selector = backends.selector_of(service) if service is not None else None
        if service is None or selector is None:
            for slice_ in existing:  # the owner reference lets the GC do it too
                await delete_if_present(self.client, "endpointslices", name_of(slice_),
                                        request.namespace)
            return None
        pods = [p for p in self.pods.store.list(request.namespace)
                if backends.selects(selector, p)]
        unused = list(existing)
        wanted = desired_slices(service, pods)
        unmatched = []
        for key, endpoints in wanted:  # first the slices that already have these ports
            reuse = next((s for s in unused if _slice_key(s) == key), None)
            if reuse is None:
                unmatched.append((key, endpoints))
                continue
            unused.remove(reuse)
            await self._update(service, reuse, key, endpoints)
        for key, endpoints in unmatched:  # then any leftover of the address type (e.g. the
            reuse = next((s for s in unused  # placeholder) instead of create + delete
                          if _slice_key(s)[0] == key[0]), None)
            if reuse is not None:
                unused.remove(reuse)
                await self._update(service, reuse, key, endpoints)
            else:
                await self._create(service, key, endpoints)
        for slice_ in unused:
            await delete_if_present(self.client, "endpointslices", name_of(slice_),
                                    request.namespace)
        return None

    def _labels(self, service: JSONObject) -> dict[str, str]:
        return {**backends.managed_labels(service), SERVICE_NAME_LABEL: name_of(service),
                MANAGED_BY_LABEL: MANAGED_BY}

    async def _create(self, service: JSONObject, key: SliceKey,
                      endpoints: list[JSONObject]) -> None:
        body: JSONObject = {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": f"{name_of(service)}-",
                         "namespace": namespace_of(service), "labels": self._labels(service),
                         "ownerReferences": [owner_reference(
                             {"apiVersion": "v1", "kind": "Service", **service})]},
            "addressType": key[0], "endpoints": endpoints,
            "ports": [p.as_api() for p in key[1]]}
        created = await self.client.create("endpointslices", body, namespace_of(service))
        self._created.setdefault(f"{namespace_of(service)}/{name_of(service)}", {})[
            name_of(created)] = self.clock.now()

    async def _update(self, service: JSONObject, current: JSONObject, key: SliceKey,
                      endpoints: list[JSONObject]) -> None:
        labels = self._labels(service)
        ports = [p.as_api() for p in key[1]]
        if (current.get("endpoints") or []) == endpoints and \
                (meta(current).get("labels") or {}) == labels and \
                (current.get("ports") or []) == ports:
            return
        changed = writable(current)
        changed["endpoints"] = endpoints
        changed["ports"] = ports
        changed["metadata"]["labels"] = labels
        await self.client.update("endpointslices", changed, namespace_of(service))


def new_controller(ctx: ControllerContext) -> EndpointSliceController:
    return EndpointSliceController(ctx)
