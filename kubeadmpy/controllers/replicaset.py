"""The ReplicaSet controller: keep `spec.replicas` active pods matching the selector.

Upstream's behaviour kept here because users and kubectl see it: pods are named
`<replicaset>-<random>` (generateName), carry a controller ownerReference with
blockOwnerDeletion, orphans matching the selector are adopted and owned pods that stop
matching are released; creations go in slow-start batches (1, 2, 4, ...) so a failing
template costs one error, not hundreds; surplus pods are deleted least-valuable first
(unscheduled, pending, not ready, newest). Status counts replicas, fullyLabeledReplicas,
readyReplicas, availableReplicas (ready for minReadySeconds) and observedGeneration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from kubeadmpy.client import errors
from kubeadmpy.client.controller import Controller, Request, Result
from kubeadmpy.client.informer import Informer
from kubeadmpy.client.rest import Client, PatchType
from kubeadmpy.controllers.common import (
    Expectations,
    JSONObject,
    controller_of,
    controller_ref,
    is_controlled_by,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    meta,
    observe_into,
    owner_keys,
    parse_time,
    pod_from_template,
    selector_matches,
)
from kubeadmpy.controllers.events import EventRecorder
from kubeadmpy.controllers.registry import ControllerContext

log = logging.getLogger(__name__)
BURST_REPLICAS = 500  # upstream's cap on creations/deletions per sync


async def claim_pods(client: Client, owner: JSONObject, pods: list[JSONObject]
                     ) -> list[JSONObject]:
    """Upstream's ClaimPods: the pods this owner controls after adopting matching orphans
    and releasing owned pods that no longer match. Returns owned, matching pods."""
    selector = (owner.get("spec") or {}).get("selector")
    owned: list[JSONObject] = []
    deleting = bool(meta(owner).get("deletionTimestamp"))
    for pod in pods:
        ref = controller_of(pod)
        matches = selector_matches(selector, meta(pod).get("labels"))
        if ref is not None:
            if ref.get("uid") != meta(owner).get("uid"):
                continue
            if matches:
                owned.append(pod)
            elif not deleting:
                await _release(client, owner, pod)
            continue
        if matches and not deleting and not meta(pod).get("deletionTimestamp"):
            adopted = await _adopt(client, owner, pod)
            if adopted is not None:
                owned.append(adopted)
    return owned


async def _adopt(client: Client, owner: JSONObject, obj: JSONObject) -> JSONObject | None:
    refs = [*(meta(obj).get("ownerReferences") or []), controller_ref(owner)]
    patch = {"metadata": {"ownerReferences": refs, "uid": meta(obj)["uid"],
                          "resourceVersion": meta(obj)["resourceVersion"]}}
    try:
        return await client.patch(_ref_of(obj), meta(obj)["name"], patch,
                                  meta(obj).get("namespace"), patch_type=PatchType.MERGE)
    except (errors.NotFound, errors.Conflict):
        return None  # gone or changed: the next sync decides again


async def _release(client: Client, owner: JSONObject, obj: JSONObject) -> None:
    refs = [r for r in meta(obj).get("ownerReferences") or []
            if r.get("uid") != meta(owner).get("uid")]
    patch = {"metadata": {"ownerReferences": refs or None, "uid": meta(obj)["uid"],
                          "resourceVersion": meta(obj)["resourceVersion"]}}
    with contextlib.suppress(errors.NotFound, errors.Conflict):
        await client.patch(_ref_of(obj), meta(obj)["name"], patch, meta(obj).get("namespace"),
                           patch_type=PatchType.MERGE)


def _ref_of(obj: JSONObject) -> str:
    return f"{obj.get('apiVersion', 'v1')}/{obj.get('kind', 'Pod')}"


def deletion_rank(pod: Mapping[str, Any]) -> tuple[int, int, int, float]:
    """Lower sorts first = deleted first: unscheduled, then pending/unknown/running, not ready
    before ready, then the newest."""
    spec, stat = pod.get("spec") or {}, pod.get("status") or {}
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(str(stat.get("phase")), 0)
    created = parse_time(meta(pod).get("creationTimestamp")) or 0.0
    return (1 if spec.get("nodeName") else 0, phase_rank, 1 if is_pod_ready(pod) else 0,
            -created)


async def slow_start(count: int, create: Any) -> tuple[int, Exception | None]:
    """Call `create()` count times in batches 1, 2, 4...; stop after a batch with an error.
    Returns (number not attempted or failed, first error)."""
    done, batch = 0, 1
    while done < count:
        size = min(batch, count - done)
        results = await asyncio.gather(*(create() for _ in range(size)), return_exceptions=True)
        failures = [r for r in results if isinstance(r, Exception)]
        done += size
        if failures:
            return count - done + len(failures), failures[0]
        batch *= 2
    return 0, None


class ReplicaSetController:
    name = "replicaset-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.replicasets: Informer = ctx.informers.informer("replicasets")
        self.pods: Informer = ctx.informers.informer("pods")
        self.expectations = Expectations(ctx.clock)
        self.controller = Controller(self.name, self.reconcile,
                                     workers=ctx.options.concurrent_replicaset_syncs,
                                     clock=ctx.clock)
        self.events = EventRecorder(ctx.client, self.name)
        self.controller.watch(self.replicasets)
        self.controller.watch(self.pods, self._pod_requests)
        self.pods.add_handler(observe_into(self.expectations, "ReplicaSet"))

    async def run(self) -> None:
        await self.controller.run()

    def _pod_requests(self, pod: JSONObject) -> list[Request]:
        ns = str(meta(pod).get("namespace") or "")
        owners = [Request(ns, key.rpartition("/")[2]) for key in owner_keys(pod, "ReplicaSet")]
        if owners or controller_of(pod) is not None:
            return owners
        labels = meta(pod).get("labels")
        return [Request.of(rs) for rs in self.replicasets.store.list(ns)
                if selector_matches((rs.get("spec") or {}).get("selector"), labels)]

    async def reconcile(self, request: Request) -> Result | None:
        rs = self.replicasets.store.get(request.key)
        if rs is None:
            self.expectations.forget(request.key)
            return None
        pods = [p for p in self.pods.store.list(request.namespace) if is_pod_active(p)]
        needs_sync = self.expectations.satisfied(request.key) and \
            not meta(rs).get("deletionTimestamp")
        if needs_sync:
            owned = await claim_pods(self.client, rs, pods)
            await self._manage(rs, owned, request.key)
        else:
            owned = [p for p in pods if is_controlled_by(p, rs)]
        return await self._update_status(rs, owned)

    async def _manage(self, rs: JSONObject, pods: list[JSONObject], key: str) -> None:
        desired = int((rs.get("spec") or {}).get("replicas", 1))
        diff = len(pods) - desired
        namespace = str(meta(rs).get("namespace"))
        if diff < 0:
            count = min(-diff, BURST_REPLICAS)
            self.expectations.expect(key, adds=count)
            template = (rs.get("spec") or {}).get("template") or {}

            async def create() -> None:
                body = pod_from_template(template, rs, generate_name=f"{meta(rs)['name']}-")
                try:
                    created = await self.client.create("pods", body, namespace)
                except errors.APIError as exc:
                    self.events.warning(rs, "FailedCreate", f"Error creating: {exc}")
                    raise
                self.events.normal(rs, "SuccessfulCreate",
                                   f"Created pod: {meta(created)['name']}")

            skipped, error = await slow_start(count, create)
            if skipped:
                self.expectations.lower(key, adds=skipped)
            if error is not None:
                raise error
        elif diff > 0:
            victims = sorted(pods, key=deletion_rank)[:min(diff, BURST_REPLICAS)]
            self.expectations.expect(key, dels=len(victims))
            results = await asyncio.gather(*(self._delete_pod(rs, p) for p in victims),
                                           return_exceptions=True)
            failures = [r for r in results if isinstance(r, Exception)]
            if failures:
                self.expectations.lower(key, dels=len(failures))
                raise failures[0]

    async def _delete_pod(self, rs: JSONObject, pod: JSONObject) -> None:
        try:
            await self.client.delete("pods", meta(pod)["name"], meta(pod).get("namespace"))
        except errors.NotFound:
            self.expectations.lower(key_of_owner(pod), dels=1)
            return
        self.events.normal(rs, "SuccessfulDelete", f"Deleted pod: {meta(pod)['name']}")

    async def _update_status(self, rs: JSONObject, pods: list[JSONObject]) -> Result | None:
        spec = rs.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        now = time.time()
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        ready = [p for p in pods if is_pod_ready(p)]
        available = [p for p in ready if is_pod_available(p, min_ready, now)]
        fully_labeled = [p for p in pods if all(
            (meta(p).get("labels") or {}).get(k) == v for k, v in template_labels.items())]
        old = rs.get("status") or {}
        status: JSONObject = {
            "replicas": len(pods), "fullyLabeledReplicas": len(fully_labeled),
            "readyReplicas": len(ready), "availableReplicas": len(available),
            "observedGeneration": meta(rs).get("generation", 1)}
        if old.get("conditions"):
            status["conditions"] = old["conditions"]
        if any(old.get(k, 0) != v for k, v in status.items()):
            body = {**rs, "status": status}
            try:
                await self.client.update_status("replicasets", body, meta(rs).get("namespace"))
            except errors.NotFound:
                return None
        if min_ready and len(ready) > len(available):
            return Result(requeue_after=float(min_ready))
        return None


def key_of_owner(pod: JSONObject) -> str:
    keys = list(owner_keys(pod, "ReplicaSet"))
    return keys[0] if keys else ""


def new_controller(ctx: ControllerContext) -> ReplicaSetController:
    return ReplicaSetController(ctx)
