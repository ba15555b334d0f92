"""The garbage collector: deletes dependents whose owners are gone, and carries out
foreground and orphan deletion.

Why a graph: ownerReferences point from dependent to owner (by uid), but deletion decisions
need the other direction ("who depends on this?"). The collector keeps every watched object's
uid, owners and dependents in memory from the shared informers, and reconciles per uid:
- an object whose every owner is gone (verified with a live GET when the owner is not in the
  graph, as upstream does, so a lagging cache never causes a deletion) is deleted in the
  background; owners that are gone are removed from an object that still has a live one;
- an owner being deleted with the `foregroundDeletion` finalizer gets its dependents deleted
  (in foreground themselves when their reference blocks the owner) and loses the finalizer
  once no dependent with `blockOwnerDeletion: true` remains;
- an owner being deleted with the `orphan` finalizer has its reference removed from every
  dependent, then loses the finalizer.
Watched: the built-in kinds that carry ownerReferences in practice from the start, plus every
other listable kind discovery offers when the collector starts (CRDs included; events and
review APIs skipped, as upstream). Kinds added to the API later are picked up on restart.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from kubeadmpy.client import errors
from kubeadmpy.client.controller import Controller, Request, Result
from kubeadmpy.client.informer import EventHandler
from kubeadmpy.client.resources import ResourceInfo
from kubeadmpy.client.rest import Client, PatchType, Preconditions, ResourceRef
from kubeadmpy.controllers.common import JSONObject, meta
from kubeadmpy.controllers.registry import ControllerContext

log = logging.getLogger(__name__)

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
# kinds discovery lists that cannot be listed or watched (reviews, virtual resources)
NOT_LISTABLE_GROUPS = {"authentication.k8s.io", "authorization.k8s.io", "metrics.k8s.io"}
NOT_LISTABLE = {"bindings", "componentstatuses", "tokenreviews", "localsubjectaccessreviews",
                "selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews",
                "selfsubjectreviews"}
WATCHED = ("pods", "replicasets.apps", "deployments.apps", "daemonsets.apps",
           "statefulsets.apps", "controllerrevisions.apps", "jobs.batch", "cronjobs.batch",
           "persistentvolumeclaims", "configmaps", "secrets", "services",
           "endpointslices.discovery.k8s.io", "serviceaccounts")


@dataclass
class Node:
    obj: JSONObject

    @property
    def uid(self) -> str:
        return str(meta(self.obj).get("uid"))

    @property
    def owners(self) -> list[JSONObject]:
        return list(meta(self.obj).get("ownerReferences") or [])

    @property
    def deleting(self) -> bool:
        return bool(meta(self.obj).get("deletionTimestamp"))

    def has_finalizer(self, name: str) -> bool:
        return name in (meta(self.obj).get("finalizers") or [])

    @property
    def api_ref(self) -> str:
        return f"{self.obj.get('apiVersion')}/{self.obj.get('kind')}"


class Graph:
    """uid → node, and owner uid → dependent uids (owners may be absent from the graph)."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.dependents: dict[str, set[str]] = {}

    def upsert(self, obj: JSONObject) -> None:
        node = Node(obj)
        old = self.nodes.get(node.uid)
        if old is not None:
            self._unlink(old)
        self.nodes[node.uid] = node
        for ref in node.owners:
            self.dependents.setdefault(str(ref.get("uid")), set()).add(node.uid)

    def remove(self, obj: JSONObject) -> None:
        node = self.nodes.pop(str(meta(obj).get("uid")), None)
        if node is not None:
            self._unlink(node)

    def _unlink(self, node: Node) -> None:
        for ref in node.owners:
            owner = str(ref.get("uid"))
            deps = self.dependents.get(owner)
            if deps is not None:
                deps.discard(node.uid)
                if not deps:
                    del self.dependents[owner]

    def dependents_of(self, uid: str) -> list[Node]:
        return [self.nodes[d] for d in self.dependents.get(uid, ()) if d in self.nodes]


class GarbageCollector:
    name = "garbage-collector-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        self.client: Client = ctx.client
        self.graph = Graph()
        self.controller = Controller(self.name, self.reconcile,
                                     workers=ctx.options.concurrent_gc_syncs, clock=ctx.clock)
        self.ctx = ctx
        self.watched: set[str] = set()
        for ref in WATCHED:
            self._watch(ref)

    def _watch(self, ref: ResourceRef) -> None:
        name = ref.qualified if isinstance(ref, ResourceInfo) else ref
        self.watched.add(name)
        informer = self.ctx.informers.informer(ref)
        # the graph first, so the mapper below already sees the change
        informer.add_handler(EventHandler(on_add=self.graph.upsert,
                                          on_update=lambda _o, n: self.graph.upsert(n),
                                          on_delete=self.graph.remove))
        self.controller.watch(informer, self._requests)

    async def run(self) -> None:
        await self._watch_discovered()
        await self.controller.run()

    async def _watch_discovered(self) -> None:
        """Add every other listable kind the API offers (CRDs, aggregated APIs), as upstream's
        collector watches all deletable resources; the static list above is always there."""
        try:
            resources = await self.ctx.client.discovery.resources()
        except errors.APIError as exc:
            log.warning("garbage collector: discovery failed (%s); watching the built-in "
                        "kinds only", exc)
            return
        for info in resources:
            if info.group in NOT_LISTABLE_GROUPS or info.plural in NOT_LISTABLE or \
                    info.plural == "events" or info.qualified in self.watched:
                continue
            self._watch(info)

    def _requests(self, obj: JSONObject) -> list[Request]:
        """The object itself, its owners (a foreground owner waits on it) and its dependents
        (their owner may just have gone)."""
        uid = str(meta(obj).get("uid"))
        uids = {uid, *(str(r.get("uid")) for r in meta(obj).get("ownerReferences") or [])}
        uids.update(self.graph.dependents.get(uid, ()))
        return [Request("", u) for u in sorted(uids)]

    async def reconcile(self, request: Request) -> Result | None:
        node = self.graph.nodes.get(request.name)
        if node is None:
            return None
        if node.deleting:
            if node.has_finalizer(ORPHAN):
                await self._orphan_dependents(node)
            elif node.has_finalizer(FOREGROUND):
                await self._delete_dependents_first(node)
            return None
        if node.owners:
            await self._check_owners(node)
        return None

    async def _orphan_dependents(self, node: Node) -> None:
        for dep in self.graph.dependents_of(node.uid):
            refs = [r for r in dep.owners if r.get("uid") != node.uid]
            patch = {"metadata": {"ownerReferences": refs or None, "uid": dep.uid}}
            with contextlib.suppress(errors.NotFound):
                await self.client.patch(dep.api_ref, meta(dep.obj)["name"], patch,
                                        meta(dep.obj).get("namespace"),
                                        patch_type=PatchType.MERGE)
        await self._remove_finalizer(node, ORPHAN)

    async def _delete_dependents_first(self, node: Node) -> None:
        blocking = 0
        for dep in self.graph.dependents_of(node.uid):
            ref = next(r for r in dep.owners if r.get("uid") == node.uid)
            blocks = bool(ref.get("blockOwnerDeletion"))
            blocking += blocks
            if not dep.deleting:
                await self._delete(dep, "Foreground" if blocks else "Background")
        if not blocking:
            await self._remove_finalizer(node, FOREGROUND)

    async def _check_owners(self, node: Node) -> None:
        solid: list[JSONObject] = []
        dangling: list[JSONObject] = []
        waiting: list[JSONObject] = []
        for ref in node.owners:
            state = await self._owner_state(node, ref)
            {"solid": solid, "dangling": dangling, "waiting": waiting}[state].append(ref)
        if solid:
            if dangling:
                keep = [r for r in node.owners if r not in dangling]
                patch = {"metadata": {"ownerReferences": keep, "uid": node.uid}}
                with contextlib.suppress(errors.NotFound):
                    await self.client.patch(node.api_ref, meta(node.obj)["name"], patch,
                                            meta(node.obj).get("namespace"),
                                            patch_type=PatchType.MERGE)
            return
        if waiting:
            blocks = any(r.get("blockOwnerDeletion") for r in waiting)
            await self._delete(node, "Foreground" if blocks else "Background")
            return
        log.info("deleting %s %s/%s: its owners are gone", node.obj.get("kind"),
                 meta(node.obj).get("namespace") or "", meta(node.obj).get("name"))
        await self._delete(node, "Background")

    async def _owner_state(self, node: Node, ref: JSONObject) -> str:
        owner = self.graph.nodes.get(str(ref.get("uid")))
        if owner is None:
            namespace = meta(node.obj).get("namespace")
            try:
                live = await self.client.get(f"{ref.get('apiVersion')}/{ref.get('kind')}",
                                             str(ref.get("name")), namespace)
            except errors.NotFound:
                return "dangling"
            if meta(live).get("uid") != ref.get("uid"):
                return "dangling"
            owner = Node(live)
        if owner.deleting and owner.has_finalizer(FOREGROUND):
            return "waiting"
        return "solid"

    async def _delete(self, node: Node, propagation: str) -> None:
        with contextlib.suppress(errors.NotFound, errors.Conflict):
            await self.client.delete(node.api_ref, meta(node.obj)["name"],
                                     meta(node.obj).get("namespace"),
                                     propagation_policy=propagation,
                                     preconditions=Preconditions(uid=node.uid))

    async def _remove_finalizer(self, node: Node, finalizer: str) -> None:
        finalizers = [f for f in meta(node.obj).get("finalizers") or [] if f != finalizer]
        patch = {"metadata": {"finalizers": finalizers or None,
                              "resourceVersion": meta(node.obj)["resourceVersion"]}}
        with contextlib.suppress(errors.NotFound):
            await self.client.patch(node.api_ref, meta(node.obj)["name"], patch,
                                    meta(node.obj).get("namespace"), patch_type=PatchType.MERGE)



def new_controller(ctx: ControllerContext) -> GarbageCollector:
    return GarbageCollector(ctx)
