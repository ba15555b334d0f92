"""The namespace controller: empties a namespace being deleted, then releases it.

A deleted namespace stays (phase Terminating) while its spec.finalizers holds `kubernetes`.
This controller finds every namespaced resource through discovery (so CRDs and aggregated APIs
are included, as upstream), deletes their objects in the namespace (collection delete with
background propagation, object by object when a resource has no collection delete), reports
progress in the status conditions upstream uses (NamespaceDeletionDiscoveryFailure,
NamespaceDeletionGroupVersionParsingFailure, NamespaceDeletionContentFailure,
NamespaceContentRemaining, NamespaceFinalizersRemaining), and once nothing is left removes
`kubernetes` through the `finalize` subresource so the API server can drop the namespace.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections import Counter

from kubeadmpy.client import errors
from kubeadmpy.client.controller import Controller, Request, Result
from kubeadmpy.client.informer import Informer
from kubeadmpy.client.resources import ResourceInfo
from kubeadmpy.client.rest import Client, delete_options
from kubeadmpy.controllers.common import JSONObject, meta, now_rfc3339, set_condition
from kubeadmpy.controllers.registry import ControllerContext

log = logging.getLogger(__name__)
FINALIZER = "kubernetes"
RECHECK_SECONDS = 2.0
# kinds that share storage with another listed resource: deleting them twice is harmless but
# counting them twice would double the "remaining" figures
SKIPPED = {("events.k8s.io", "events")}


def _label(info: ResourceInfo) -> str:
    """GroupResource as upstream prints it: `pods`, `deployments.apps`."""
    return info.qualified


class NamespaceController:
    name = "namespace-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        self.client: Client = ctx.client
        self.namespaces: Informer = ctx.informers.informer("namespaces")
        self.controller = Controller(self.name, self.reconcile,
                                     workers=ctx.options.concurrent_namespace_syncs,
                                     clock=ctx.clock)
        self.controller.watch(self.namespaces)

    async def run(self) -> None:
        await self.controller.run()

    async def reconcile(self, request: Request) -> Result | None:
        cached = self.namespaces.store.get(request.key)
        if cached is None or not meta(cached).get("deletionTimestamp"):
            return None
        ns = copy.deepcopy(cached)
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return None
        name = meta(ns)["name"]
        status: JSONObject = copy.deepcopy(ns.get("status") or {})
        status["phase"] = "Terminating"
        now = now_rfc3339()
        try:
            resources = [r for r in await self.client.discovery.resources(refresh=True)
                         if r.namespaced and (r.group, r.plural) not in SKIPPED]
            set_condition(status, "NamespaceDeletionDiscoveryFailure", "False",
                          "ResourcesDiscovered", "All resources successfully discovered", now)
        except errors.APIError as exc:
            set_condition(status, "NamespaceDeletionDiscoveryFailure", "True",
                          "DiscoveryFailed", f"Discovery failed for some groups: {exc}", now)
            await self._write_status(ns, status)
            raise
        set_condition(status, "NamespaceDeletionGroupVersionParsingFailure", "False",
                      "ParsedGroupVersions", "All legacy kube types successfully parsed", now)
        failures: list[str] = []
        remaining: Counter[str] = Counter()
        finalizers: Counter[str] = Counter()
        for info in resources:
            try:
                await self._delete_all(info, name)
                left = (await self.client.list(info, name)).items
            except (errors.NotFound, errors.MethodNotAllowed):
                continue  # not listable/deletable (e.g. a virtual resource)
            except errors.APIError as exc:
                failures.append(f"{_label(info)}: {exc}")
                continue
            if left:
                remaining[_label(info)] += len(left)
                for item in left:
                    for finalizer in meta(item).get("finalizers") or []:
                        finalizers[finalizer] += 1
        if failures:
            set_condition(status, "NamespaceDeletionContentFailure", "True",
                          "ContentDeletionFailed", "Failed to delete all resource types, "
                          f"{len(failures)} remaining: " + ", ".join(sorted(failures)), now)
        else:
            set_condition(status, "NamespaceDeletionContentFailure", "False", "ContentDeleted",
                          "All content successfully deleted, may be waiting on finalization",
                          now)
        if remaining:
            set_condition(status, "NamespaceContentRemaining", "True", "SomeResourcesRemain",
                          "Some resources are remaining: " + ", ".join(
                              f"{r} has {n} resource instances"
                              for r, n in sorted(remaining.items())), now)
        else:
            set_condition(status, "NamespaceContentRemaining", "False", "ContentRemoved",
                          "All content successfully removed", now)
        if finalizers:
            set_condition(status, "NamespaceFinalizersRemaining", "True",
                          "SomeFinalizersRemain",
                          "Some content in the namespace has finalizers remaining: " + ", ".join(
                              f"{f} in {n} resource instances"
                              for f, n in sorted(finalizers.items())), now)
        else:
            set_condition(status, "NamespaceFinalizersRemaining", "False",
                          "ContentHasNoFinalizers", "All content-preserving finalizers finished",
                          now)
        ns = await self._write_status(ns, status)
        if remaining or failures:
            return Result(requeue_after=RECHECK_SECONDS)
        await self._finalize(ns)
        return None

    async def _delete_all(self, info: ResourceInfo, namespace: str) -> None:
        try:
            await self.client.request("DELETE", info.collection_path(namespace),
                                      body=delete_options("Background"))
            return
        except errors.MethodNotAllowed:
            pass
        for item in (await self.client.list(info, namespace)).items:
            if meta(item).get("deletionTimestamp"):
                continue
            with contextlib.suppress(errors.NotFound, errors.Conflict):
                await self.client.delete(info, meta(item)["name"], namespace,
                                         propagation_policy="Background")

    async def _write_status(self, ns: JSONObject, status: JSONObject) -> JSONObject:
        if status == ns.get("status"):
            return ns
        try:
            return await self.client.update_status("namespaces", {**ns, "status": status})
        except errors.NotFound:
            return ns

    async def _finalize(self, ns: JSONObject) -> None:
        spec = dict(ns.get("spec") or {})
        spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
        with contextlib.suppress(errors.NotFound):
            await self.client.update("namespaces", {**ns, "spec": spec},
                                     subresource="finalize")
        log.info("namespace %s: emptied and finalized", meta(ns)["name"])


def new_controller(ctx: ControllerContext) -> NamespaceController:
    return NamespaceController(ctx)
