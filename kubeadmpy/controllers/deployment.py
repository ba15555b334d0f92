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
import time
from typing import Any

from kubeadmpy.client import errors
from kubeadmpy.client.controller import Controller, Request, Result
from kubeadmpy.client.informer import Informer
from kubeadmpy.client.rest import Client, PatchType
from kubeadmpy.controllers.common import (
    JSONObject,
    controller_ref,
    find_condition,
    int_or_percent,
    meta,
    now_rfc3339,
    owner_keys,
    parse_time,
    set_condition,
    template_hash,
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


def spec_replicas(obj: JSONObject) -> int:
    return int((obj.get("spec") or {}).get("replicas", 1) or 0)


def stat(obj: JSONObject, field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def surge_and_unavailable(deployment: JSONObject) -> tuple[int, int]:
    """maxSurge rounds up, maxUnavailable down; both 0 would deadlock so unavailable is 1."""
    replicas = spec_replicas(deployment)
    rolling = ((deployment.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    surge = int_or_percent(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


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
        replicas = spec_replicas(deployment)
        return new_rs is not None and stat(new_rs, "replicas") == replicas and \
            sum(stat(rs, "replicas") for rs in owned) == replicas and \
            stat(new_rs, "availableReplicas") == replicas and \
            spec_replicas(new_rs) == replicas

    async def _sync_status(self, deployment: JSONObject, owned: list[JSONObject],
                           new_rs: JSONObject | None, *, created: bool) -> Result | None:
        spec = deployment.get("spec") or {}
        replicas = spec_replicas(deployment)
        old = deployment.get("status") or {}
        available = sum(stat(rs, "availableReplicas") for rs in owned)
        status: JSONObject = {
            "observedGeneration": meta(deployment).get("generation", 1),
            "replicas": sum(stat(rs, "replicas") for rs in owned),
            "updatedReplicas": stat(new_rs, "replicas") if new_rs is not None else 0,
            "readyReplicas": sum(stat(rs, "readyReplicas") for rs in owned),
            "availableReplicas": available,
            "unavailableReplicas": max(0, replicas - available)}
        if old.get("collisionCount"):
            status["collisionCount"] = old["collisionCount"]
        status["conditions"] = copy.deepcopy(old.get("conditions") or [])
        now = now_rfc3339()
        _, max_unavailable = surge_and_unavailable(deployment)
        if available >= replicas - max_unavailable:
            set_condition(status, "Available", "True", "MinimumReplicasAvailable",
                          "Deployment has minimum availability.", now, with_update_time=True)
        else:
            set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.", now,
                          with_update_time=True)
        requeue = self._progress(deployment, status, old, owned, new_rs, created, now)
        _keep_update_times(status, old)
        if _comparable(status) != _comparable(old):
            try:
                await self.client.update_status("deployments", {**deployment, "status": status})
            except errors.NotFound:
                return None
        if spec.get("paused") or requeue is None:
            return None
        return Result(requeue_after=requeue)

    def _progress(self, deployment: JSONObject, status: JSONObject, old: JSONObject,
                  owned: list[JSONObject], new_rs: JSONObject | None, created: bool,
                  now: str) -> float | None:
        """Progressing condition as upstream; returns seconds until the deadline to check."""
        spec = deployment.get("spec") or {}
        deadline = spec.get("progressDeadlineSeconds", 600)
        current = find_condition(status, "Progressing")
        if spec.get("paused"):  # the deadline does not run while paused (upstream)
            if deadline is not None and (current or {}).get("reason") != "DeploymentPaused":
                set_condition(status, "Progressing", "Unknown", "DeploymentPaused",
                              "Deployment is paused", now, with_update_time=True)
            return None
        if deadline is None:
            return None
        if (current or {}).get("reason") == "DeploymentPaused":
            set_condition(status, "Progressing", "Unknown", "DeploymentResumed",
                          "Deployment is resumed", now, with_update_time=True)
            return float(deadline)
        name = meta(new_rs)["name"] if new_rs is not None else ""
        replicas = spec_replicas(deployment)
        if new_rs is not None and self._complete(deployment, new_rs, owned):
            set_condition(status, "Progressing", "True", "NewReplicaSetAvailable",
                          f'ReplicaSet "{name}" has successfully progressed.', now,
                          with_update_time=True)
            return None
        if created and new_rs is not None:
            set_condition(status, "Progressing", "True", "NewReplicaSetCreated",
                          f'Created new replica set "{name}"', now, with_update_time=True)
            return float(deadline)
        if current is None and new_rs is not None:
            set_condition(status, "Progressing", "True", "FoundNewReplicaSet",
                          f'Found new replica set "{name}"', now, with_update_time=True)
            return float(deadline)
        if current is not None and current.get("reason") == "ProgressDeadlineExceeded":
            return None
        if _progressed(status, old, replicas) and new_rs is not None:
            set_condition(status, "Progressing", "True", "ReplicaSetUpdated",
                          f'ReplicaSet "{name}" is progressing.', now, with_update_time=True)
            return float(deadline)
        last = parse_time((current or {}).get("lastUpdateTime"))
        if last is None:
            return float(deadline)
        remaining = last + float(deadline) - time.time()
        if remaining <= 0:
            set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded",
                          f'ReplicaSet "{name}" has timed out progressing.', now,
                          with_update_time=True)
            return None
        return remaining + 1.0


def _progressed(new: JSONObject, old: JSONObject, replicas: int) -> bool:
    """Upstream: more updated/ready/available replicas, or fewer old ones, than last time."""
    def old_replicas(s: JSONObject) -> int:
        return int(s.get("replicas") or 0) - int(s.get("updatedReplicas") or 0)
    return any(int(new.get(f) or 0) > int(old.get(f) or 0)
               for f in ("updatedReplicas", "readyReplicas", "availableReplicas")) or \
        old_replicas(new) < old_replicas(old)


def _keep_update_times(status: JSONObject, old: JSONObject) -> None:
    """A condition whose status, reason and message did not change keeps its timestamps, so
    an unchanged Deployment is not rewritten on every sync."""
    before = {c.get("type"): c for c in old.get("conditions") or []}
    for condition in status.get("conditions") or []:
        previous = before.get(condition.get("type"))
        if previous and all(previous.get(k) == condition.get(k)
                            for k in ("status", "reason", "message")):
            condition["lastUpdateTime"] = previous.get("lastUpdateTime",
                                                       condition.get("lastUpdateTime"))
            condition["lastTransitionTime"] = previous.get(
                "lastTransitionTime", condition.get("lastTransitionTime"))


def _comparable(status: JSONObject) -> Any:
    return {k: v for k, v in status.items() if v not in (0, None, [])}


def _owned_by(obj: JSONObject, owner: JSONObject) -> bool:
    return any(r.get("uid") == meta(owner).get("uid") and r.get("controller")
               for r in meta(obj).get("ownerReferences") or [])


def new_controller(ctx: ControllerContext) -> DeploymentController:
    return DeploymentController(ctx)
