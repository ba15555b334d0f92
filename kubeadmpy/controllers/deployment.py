"""The Deployment controller: ReplicaSets per pod template, rolled by strategy.

What users observe and what this keeps as upstream does: one ReplicaSet per distinct template,
named `<deployment>-<pod-template-hash>` with that label added to its selector, template and
pods; `deployment.kubernetes.io/revision` on the Deployment and its ReplicaSets (a template that
comes back — `kubectl rollout undo` patches the old template in — re-uses its ReplicaSet and
gets the next revision number, the old numbers kept in `revision-history`);
`desired-replicas`/`max-replicas` annotations; RollingUpdate within maxSurge/maxUnavailable
(default 25%/25%) and Recreate; old ReplicaSets beyond revisionHistoryLimit (10) deleted once
scaled to zero; status counts and the Available / Progressing conditions with upstream's reasons
and messages (read by `kubectl rollout status`), including ProgressDeadlineExceeded.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math

from kubeadmpy.client import errors
from kubeadmpy.client.controller import Controller, Request, Result
from kubeadmpy.client.informer import Informer
from kubeadmpy.client.rest import Client, PatchType
from kubeadmpy.controllers.common import (
    JSONObject,
    controller_ref,
    meta,
    owner_keys,
    parse_time,
    template_hash,
)
from kubeadmpy.controllers.deployment_status import (
    comparable,
    compute_status,
    is_complete,
    spec_replicas,
    stat,
    surge_and_unavailable,
)
from kubeadmpy.controllers.events import EventRecorder
from kubeadmpy.controllers.registry import ControllerContext
from kubeadmpy.controllers.replicaset import claim_pods

log = logging.getLogger(__name__)

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
# Deployment annotations that are not copied to its ReplicaSets
NOT_COPIED = {"kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY,
              DESIRED, MAX_REPLICAS, "deprecated.deployment.rollback.to"}


def revision_of(obj: JSONObject) -> int:
    try:
        return int((meta(obj).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def without_hash(template: JSONObject) -> JSONObject:
    clean = copy.deepcopy(template)
    labels = (clean.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return clean


class DeploymentController:
    name = "deployment-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        self.client: Client = ctx.client
        self.deployments: Informer = ctx.informers.informer("deployments")
        self.replicasets: Informer = ctx.informers.informer("replicasets")
        self.pods: Informer = ctx.informers.informer("pods")
        self.controller = Controller(self.name, self.reconcile,
                                     workers=ctx.options.concurrent_deployment_syncs,
                                     clock=ctx.clock)
        self.events = EventRecorder(ctx.client, self.name)
        self.controller.watch(self.deployments)
        self.controller.watch(self.replicasets, self._rs_requests)
        self.controller.watch(self.pods, self._pod_requests)

    async def run(self) -> None:
        await self.controller.run()

    def _rs_requests(self, rs: JSONObject) -> list[Request]:
        ns = str(meta(rs).get("namespace") or "")
        return [Request(ns, k.rpartition("/")[2]) for k in owner_keys(rs, "Deployment")]

    def _pod_requests(self, pod: JSONObject) -> list[Request]:
        """A pod matters to its Deployment (Recreate waits for old pods to go)."""
        result: list[Request] = []
        for key in owner_keys(pod, "ReplicaSet"):
            rs = self.replicasets.store.get(key)
            if rs is not None:
                result.extend(self._rs_requests(rs))
        return result

    # --- the sync ------------------------------------------------------------------------------

    async def reconcile(self, request: Request) -> Result | None:
        cached = self.deployments.store.get(request.key)
        if cached is None:
            return None
        deployment = copy.deepcopy(cached)
        all_rs = [rs for rs in self.replicasets.store.list(request.namespace)]
        if meta(deployment).get("deletionTimestamp"):
            owned = [rs for rs in all_rs if _owned_by(rs, deployment)]
            return await self._sync_status(deployment, owned, None, created=False)
        owned = await claim_pods(self.client, deployment, all_rs)
        new_rs, old_rs = self._split(deployment, owned)
        spec = deployment.get("spec") or {}
        if spec.get("paused"):
            await self._scale_paused(deployment, new_rs, old_rs)
            return await self._sync_status(deployment, owned, new_rs, created=False)
        strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
        if self._is_scaling_event(deployment, owned):
            await self._scale_proportionally(deployment, new_rs, old_rs)
            return await self._sync_status(deployment, owned, new_rs, created=False)
        created = False
        if strategy == "Recreate":
            active_old = [rs for rs in old_rs if spec_replicas(rs) > 0]
            for rs in active_old:
                await self._scale(rs, 0, deployment)
            if active_old or self._old_pods_running(old_rs):
                return await self._sync_status(deployment, owned, new_rs, created=False)
            if new_rs is None:
                new_rs, created = await self._create_new_rs(deployment, old_rs,
                                                            spec_replicas(deployment)), True
            else:
                new_rs = await self._ensure_revision(deployment, new_rs, old_rs)
            if spec_replicas(new_rs) != spec_replicas(deployment):
                new_rs = await self._scale(new_rs, spec_replicas(deployment), deployment)
        else:
            if new_rs is None:
                replicas = self._new_rs_replicas(deployment, None, owned)
                new_rs, created = await self._create_new_rs(deployment, old_rs, replicas), True
            else:
                new_rs = await self._ensure_revision(deployment, new_rs, old_rs)
                target = self._new_rs_replicas(deployment, new_rs, owned)
                if target != spec_replicas(new_rs):
                    new_rs = await self._scale(new_rs, target, deployment)
            await self._reconcile_old(deployment, new_rs, old_rs)
        owned = [new_rs, *old_rs]
        if self._complete(deployment, new_rs, owned):
            await self._cleanup(deployment, old_rs)
        return await self._sync_status(deployment, owned, new_rs, created=created)

    def _split(self, deployment: JSONObject, owned: list[JSONObject]
               ) -> tuple[JSONObject | None, list[JSONObject]]:
        template = without_hash((deployment.get("spec") or {}).get("template") or {})
        matching = [rs for rs in owned
                    if without_hash((rs.get("spec") or {}).get("template") or {}) == template]
        # several identical templates (rare): the oldest is the new one, as upstream
        matching.sort(key=lambda rs: parse_time(meta(rs).get("creationTimestamp")) or 0.0)
        new_rs = matching[0] if matching else None
        old = [rs for rs in owned if rs is not new_rs]
        return new_rs, old

    def _old_pods_running(self, old_rs: list[JSONObject]) -> bool:
        uids = {meta(rs).get("uid") for rs in old_rs}
        for rs in old_rs:
            for pod in self.pods.store.list(meta(rs).get("namespace")):
                refs = meta(pod).get("ownerReferences") or []
                if any(r.get("uid") in uids for r in refs) and \
                        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    return True
        return False

    def _new_rs_replicas(self, deployment: JSONObject, new_rs: JSONObject | None,
                         owned: list[JSONObject]) -> int:
        replicas = spec_replicas(deployment)
        current_new = spec_replicas(new_rs) if new_rs is not None else 0
        if current_new >= replicas:
            return replicas
        surge, _ = surge_and_unavailable(deployment)
        total = sum(spec_replicas(rs) for rs in owned)
        scale_up = max(0, replicas + surge - total)
        return current_new + min(scale_up, replicas - current_new)

    async def _reconcile_old(self, deployment: JSONObject, new_rs: JSONObject,
                             old_rs: list[JSONObject]) -> None:
        """Scale old ReplicaSets down no further than keeps maxUnavailable (unhealthy first)."""
        old_count = sum(spec_replicas(rs) for rs in old_rs)
        if old_count == 0:
            return
        everything = [new_rs, *old_rs]
        all_count = sum(spec_replicas(rs) for rs in everything)
        _, max_unavailable = surge_and_unavailable(deployment)
        min_available = spec_replicas(deployment) - max_unavailable
        new_unavailable = spec_replicas(new_rs) - stat(new_rs, "availableReplicas")
        max_scaled_down = all_count - min_available - new_unavailable
        if max_scaled_down <= 0:
            return
        ordered = sorted(old_rs, key=lambda rs: parse_time(meta(rs).get("creationTimestamp")) or 0)
        cleaned = 0
        for index, rs in enumerate(ordered):  # first: replicas that are not available anyway
            if cleaned >= max_scaled_down:
                break
            unhealthy = spec_replicas(rs) - stat(rs, "availableReplicas")
            if unhealthy <= 0 or spec_replicas(rs) == 0:
                continue
            step = min(max_scaled_down - cleaned, unhealthy)
            ordered[index] = await self._scale(rs, spec_replicas(rs) - step, deployment)
            cleaned += step
        available = sum(stat(rs, "availableReplicas") for rs in everything)
        budget = available - min_available  # cleaned replicas were unavailable anyway
        for rs in ordered:  # then: available replicas, within the availability budget
            if budget <= 0:
                break
            if spec_replicas(rs) == 0:
                continue
            step = min(spec_replicas(rs), budget)
            await self._scale(rs, spec_replicas(rs) - step, deployment)
            budget -= step

    def _is_scaling_event(self, deployment: JSONObject, owned: list[JSONObject]) -> bool:
        """`kubectl scale` happened: an active ReplicaSet was sized for another replica count."""
        for rs in owned:
            desired = (meta(rs).get("annotations") or {}).get(DESIRED)
            if spec_replicas(rs) > 0 and desired is not None and desired.isdigit() and \
                    int(desired) != spec_replicas(deployment):
                return True
        return False

    async def _scale_proportionally(self, deployment: JSONObject, new_rs: JSONObject | None,
                                    old_rs: list[JSONObject]) -> None:
        """Upstream's proportional scaling: during a rollout, spread added (or removed)
        replicas over the active ReplicaSets by their share of the previous maximum, the
        rounding leftover going to the largest one."""
        everything = [rs for rs in [new_rs, *old_rs] if rs is not None]
        active = [rs for rs in everything if spec_replicas(rs) > 0]
        replicas = spec_replicas(deployment)
        if len(active) <= 1 or (deployment.get("spec") or {}).get("strategy", {}).get(
                "type") == "Recreate":
            target = active[0] if active else new_rs
            if target is not None:
                await self._scale(target, replicas, deployment)
            return
        surge, _ = surge_and_unavailable(deployment)
        allowed = replicas + surge
        to_add = allowed - sum(spec_replicas(rs) for rs in everything)

        def created(rs: JSONObject) -> float:
            return parse_time(meta(rs).get("creationTimestamp")) or 0.0
        order = sorted(active, key=lambda rs: (spec_replicas(rs), created(rs) if to_add > 0
                                               else -created(rs)), reverse=True)
        sizes = {meta(rs)["name"]: spec_replicas(rs) for rs in order}
        added = 0
        for rs in order:
            if to_add == 0:
                break
            annotated = (meta(rs).get("annotations") or {}).get(MAX_REPLICAS, "")
            previous_max = int(annotated) if annotated.isdigit() else \
                stat(deployment, "replicas")
            fraction = 0 if previous_max == 0 else \
                math.floor(spec_replicas(rs) * allowed / previous_max + 0.5) - spec_replicas(rs)
            remaining = to_add - added
            step = min(fraction, remaining) if to_add > 0 else max(fraction, remaining)
            sizes[meta(rs)["name"]] += step
            added += step
        sizes[meta(order[0])["name"]] += to_add - added
        for rs in order:
            await self._scale(rs, max(0, sizes[meta(rs)["name"]]), deployment)

    async def _scale_paused(self, deployment: JSONObject, new_rs: JSONObject | None,
                            old_rs: list[JSONObject]) -> None:
        """A paused Deployment still follows `kubectl scale`, on its newest ReplicaSet."""
        active = [rs for rs in [new_rs, *old_rs] if rs is not None and spec_replicas(rs) > 0]
        if len(active) == 1 and spec_replicas(active[0]) != spec_replicas(deployment):
            await self._scale(active[0], spec_replicas(deployment), deployment)

    # --- ReplicaSet writes -----------------------------------------------------------------------

    async def _create_new_rs(self, deployment: JSONObject, old_rs: list[JSONObject],
                             replicas: int) -> JSONObject:
        spec = deployment.get("spec") or {}
        collisions = int((deployment.get("status") or {}).get("collisionCount") or 0)
        template = copy.deepcopy(spec.get("template") or {})
        digest = template_hash(template, collisions)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = digest
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = digest
        revision = max([revision_of(rs) for rs in old_rs] or [0]) + 1
        surge, _ = surge_and_unavailable(deployment)
        annotations = self._copied_annotations(deployment)
        annotations.update({REVISION: str(revision), DESIRED: str(spec_replicas(deployment)),
                            MAX_REPLICAS: str(spec_replicas(deployment) + surge)})
        body: JSONObject = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{meta(deployment)['name']}-{digest}",
                         "namespace": meta(deployment)["namespace"],
                         "labels": dict(template["metadata"]["labels"]),
                         "annotations": annotations,
                         "ownerReferences": [controller_ref(deployment)]},
            "spec": {"replicas": replicas, "minReadySeconds": spec.get("minReadySeconds", 0),
                     "selector": selector, "template": template}}
        try:
            created = await self.client.create("replicasets", body, meta(deployment)["namespace"])
        except errors.AlreadyExists:
            existing = await self.client.get("replicasets", body["metadata"]["name"],
                                             meta(deployment)["namespace"])
            if _owned_by(existing, deployment) and without_hash(
                    existing["spec"]["template"]) == without_hash(template):
                return existing
            # a hash collision: count it so the next name differs, and retry from the top
            status = dict(deployment.get("status") or {})
            status["collisionCount"] = collisions + 1
            await self.client.update_status("deployments", {**deployment, "status": status})
            raise
        await self._set_deployment_revision(deployment, revision)
        if replicas:
            self.events.normal(deployment, "ScalingReplicaSet",
                               f"Scaled up replica set {meta(created)['name']} to {replicas} "
                               "from 0")
        return created

    async def _ensure_revision(self, deployment: JSONObject, new_rs: JSONObject,
                               old_rs: list[JSONObject]) -> JSONObject:
        """A template coming back (rollback) takes the next revision; older numbers go to
        revision-history. Also keep the Deployment's own revision annotation in step."""
        max_old = max([revision_of(rs) for rs in old_rs] or [0])
        current = revision_of(new_rs)
        revision = current
        if current <= max_old:
            revision = max_old + 1
            annotations = dict(meta(new_rs).get("annotations") or {})
            annotations.update(self._copied_annotations(deployment))
            annotations[REVISION] = str(revision)
            if current:
                history = [h for h in annotations.get(REVISION_HISTORY, "").split(",") if h]
                annotations[REVISION_HISTORY] = ",".join([*history, str(current)])
            new_rs = await self.client.patch(
                "replicasets", meta(new_rs)["name"], {"metadata": {"annotations": annotations}},
                meta(new_rs)["namespace"], patch_type=PatchType.MERGE)
        if revision_of(deployment) != revision:
            await self._set_deployment_revision(deployment, revision)
        return new_rs

    async def _set_deployment_revision(self, deployment: JSONObject, revision: int) -> None:
        """A full update, not a patch: upstream's deployment-controller role may update
        Deployments but not patch them."""
        body = copy.deepcopy(deployment)
        body["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
        body.pop("status", None)
        updated = await self.client.update("deployments", body, meta(deployment)["namespace"])
        deployment["metadata"] = updated["metadata"]

    def _copied_annotations(self, deployment: JSONObject) -> dict[str, str]:
        return {k: v for k, v in (meta(deployment).get("annotations") or {}).items()
                if k not in NOT_COPIED}

    async def _scale(self, rs: JSONObject, replicas: int, deployment: JSONObject) -> JSONObject:
        surge, _ = surge_and_unavailable(deployment)
        annotations = {DESIRED: str(spec_replicas(deployment)),
                       MAX_REPLICAS: str(spec_replicas(deployment) + surge)}
        current = meta(rs).get("annotations") or {}
        if spec_replicas(rs) == replicas and all(current.get(k) == v
                                                 for k, v in annotations.items()):
            return rs
        patch = {"metadata": {"annotations": annotations,
                              "resourceVersion": meta(rs)["resourceVersion"]},
                 "spec": {"replicas": replicas}}
        log.info("deployment %s/%s: scaling replica set %s from %d to %d",
                 meta(deployment)["namespace"], meta(deployment)["name"], meta(rs)["name"],
                 spec_replicas(rs), replicas)
        if replicas != spec_replicas(rs):
            self.events.normal(deployment, "ScalingReplicaSet",
                               f"Scaled {'up' if replicas > spec_replicas(rs) else 'down'} "
                               f"replica set {meta(rs)['name']} to {replicas} from "
                               f"{spec_replicas(rs)}")
        return await self.client.patch("replicasets", meta(rs)["name"], patch,
                                       meta(rs)["namespace"], patch_type=PatchType.MERGE)

    async def _cleanup(self, deployment: JSONObject, old_rs: list[JSONObject]) -> None:
        limit = (deployment.get("spec") or {}).get("revisionHistoryLimit", 10)
        if limit is None:
            return
        idle = [rs for rs in old_rs if spec_replicas(rs) == 0 and stat(rs, "replicas") == 0
                and stat(rs, "observedGeneration") >= int(meta(rs).get("generation", 1))
                and not meta(rs).get("deletionTimestamp")]
        excess = len(old_rs) - int(limit)
        if excess <= 0:
            return
        idle.sort(key=revision_of)
        for rs in idle[:excess]:
            with contextlib.suppress(errors.NotFound):
                await self.client.delete("replicasets", meta(rs)["name"], meta(rs)["namespace"])

    # --- status --------------------------------------------------------------------------------

    def _complete(self, deployment: JSONObject, new_rs: JSONObject | None,
                  owned: list[JSONObject]) -> bool:
        return is_complete(deployment, new_rs, owned)

    async def _sync_status(self, deployment: JSONObject, owned: list[JSONObject],
                           new_rs: JSONObject | None, *, created: bool) -> Result | None:
        status, requeue = compute_status(deployment, owned, new_rs, created=created)
        if comparable(status) != comparable(deployment.get("status") or {}):
            try:
                await self.client.update_status("deployments", {**deployment, "status": status})
            except errors.NotFound:
                return None
        return Result(requeue_after=requeue) if requeue is not None else None


def _owned_by(obj: JSONObject, owner: JSONObject) -> bool:
    return any(r.get("uid") == meta(owner).get("uid") and r.get("controller")
               for r in meta(obj).get("ownerReferences") or [])


def new_controller(ctx: ControllerContext) -> DeploymentController:
    return DeploymentController(ctx)
