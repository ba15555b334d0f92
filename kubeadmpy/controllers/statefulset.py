"""The StatefulSet controller: pods with stable names and storage, in order.

Upstream's contract kept here: pod `<set>-<ordinal>` for ordinals 0..replicas-1 with
hostname = its name and subdomain = serviceName, labels `statefulset.kubernetes.io/pod-name`,
`apps.kubernetes.io/pod-index` and `controller-revision-hash`; one PVC per volumeClaimTemplate
and ordinal, `<template>-<set>-<ordinal>`, created before the pod and kept after it (retention
policy Retain, the default; WhenDeleted=Delete gives the PVCs an owner reference to the set).
OrderedReady (default) creates ordinal n only when 0..n-1 are Running and Ready and removes
pods from the highest ordinal, one at a time; Parallel creates and removes all at once.
RollingUpdate recreates pods from the highest ordinal down to `partition`, one at a time,
while all others are Ready. Versions are ControllerRevisions, as for DaemonSets.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import re

from kubeadmpy.client import errors
from kubeadmpy.client.controller import Controller, Request, Result
from kubeadmpy.client.informer import Informer
from kubeadmpy.client.rest import Client
from kubeadmpy.controllers import history
from kubeadmpy.controllers.common import (
    Expectations,
    JSONObject,
    is_pod_ready,
    meta,
    observe_into,
    owner_keys,
    pod_from_template,
    template_hash,
)
from kubeadmpy.controllers.events import EventRecorder
from kubeadmpy.controllers.registry import ControllerContext
from kubeadmpy.controllers.replicaset import claim_pods

log = logging.getLogger(__name__)
REVISION_HASH = history.REVISION_HASH
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def ordinal_of(set_name: str, pod: JSONObject) -> int | None:
    match = re.fullmatch(re.escape(set_name) + r"-(\d+)", str(meta(pod).get("name")))
    return int(match.group(1)) if match else None


def running_and_ready(pod: JSONObject) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_pod_ready(pod) and \
        not meta(pod).get("deletionTimestamp")


def plain_ref(owner: JSONObject) -> JSONObject:
    """An owner reference that is not a controller reference (claims are not managed pods)."""
    return {"apiVersion": owner.get("apiVersion", "v1"), "kind": owner.get("kind", "Pod"),
            "name": meta(owner)["name"], "uid": meta(owner)["uid"]}


def claim_name(template: JSONObject, set_name: str, ordinal: int) -> str:
    return f"{meta(template)['name']}-{set_name}-{ordinal}"


class StatefulSetController:
    name = "statefulset-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        self.client: Client = ctx.client
        self.sets: Informer = ctx.informers.informer("statefulsets")
        self.pods: Informer = ctx.informers.informer("pods")
        self.claims: Informer = ctx.informers.informer("persistentvolumeclaims")
        self.revisions: Informer = ctx.informers.informer("controllerrevisions")
        self.expectations = Expectations(ctx.clock)
        self.controller = Controller(self.name, self.reconcile,
                                     workers=ctx.options.concurrent_statefulset_syncs,
                                     clock=ctx.clock)
        self.events = EventRecorder(ctx.client, self.name)
        self.controller.watch(self.sets)
        self.controller.watch(self.pods, self._pod_requests)
        self.pods.add_handler(observe_into(self.expectations, "StatefulSet"))

    async def run(self) -> None:
        await self.controller.run()

    def _pod_requests(self, pod: JSONObject) -> list[Request]:
        ns = str(meta(pod).get("namespace") or "")
        return [Request(ns, k.rpartition("/")[2]) for k in owner_keys(pod, "StatefulSet")]

    async def reconcile(self, request: Request) -> Result | None:
        cached = self.sets.store.get(request.key)
        if cached is None:
            self.expectations.forget(request.key)
            return None
        sts = copy.deepcopy(cached)
        if meta(sts).get("deletionTimestamp"):
            return None
        spec = sts.get("spec") or {}
        digest = template_hash(spec.get("template") or {},
                               int((sts.get("status") or {}).get("collisionCount") or 0))
        update_revision = f"{meta(sts)['name']}-{digest}"
        pods = [p for p in self.pods.store.list(request.namespace)]
        owned = await claim_pods(self.client, sts, pods)
        by_ordinal = {o: p for p in owned if (o := ordinal_of(meta(sts)["name"], p)) is not None}
        if self.expectations.satisfied(request.key):
            await history.ensure_revision(self.client, self.revisions, sts, digest)
            await self._manage(sts, digest, by_ordinal, request.key)
        await self._update_status(sts, update_revision, by_ordinal)
        return None

    async def _manage(self, sts: JSONObject, digest: str, by_ordinal: dict[int, JSONObject],
                      key: str) -> None:
        spec = sts.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        ordered = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        revision = f"{meta(sts)['name']}-{digest}"
        for ordinal in range(replicas):
            pod = by_ordinal.get(ordinal)
            if pod is not None and (pod.get("status") or {}).get("phase") == "Failed" \
                    and not meta(pod).get("deletionTimestamp"):
                await self._delete(pod, key)
                return
            if pod is None:
                await self._create(sts, digest, ordinal, key)
                if ordered:
                    return
                continue
            if ordered and not running_and_ready(pod):
                return  # the next ordinal waits for this one
        condemned = sorted((o for o in by_ordinal if o >= replicas), reverse=True)
        for ordinal in condemned:
            pod = by_ordinal[ordinal]
            if meta(pod).get("deletionTimestamp"):
                if ordered:
                    return
                continue
            await self._release_claims(sts, pod, ordinal)
            await self._delete(pod, key)
            if ordered:
                return
        await self._roll(sts, revision, by_ordinal, replicas, key)

    async def _roll(self, sts: JSONObject, revision: str, by_ordinal: dict[int, JSONObject],
                    replicas: int, key: str) -> None:
        strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        current = [by_ordinal.get(o) for o in range(replicas)]
        if not all(p is not None and running_and_ready(p) for p in current):
            return
        for ordinal in range(replicas - 1, partition - 1, -1):
            pod = by_ordinal[ordinal]
            labels = meta(pod).get("labels") or {}
            if f"{meta(sts)['name']}-{labels.get(REVISION_HASH)}" != revision:
                await self._delete(pod, key)
                return

    async def _create(self, sts: JSONObject, digest: str, ordinal: int, key: str) -> None:
        spec = sts.get("spec") or {}
        set_name, ns = meta(sts)["name"], meta(sts)["namespace"]
        name = f"{set_name}-{ordinal}"
        for template in spec.get("volumeClaimTemplates") or []:
            await self._ensure_claim(sts, template, ordinal)
        pod = pod_from_template(spec.get("template") or {}, sts, name=name, extra_labels={
            REVISION_HASH: digest, POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal)})
        pod_spec = pod["spec"]
        pod_spec["hostname"] = name
        if spec.get("serviceName"):
            pod_spec["subdomain"] = spec["serviceName"]
        volumes = {v.get("name"): v for v in pod_spec.get("volumes") or []}
        for template in spec.get("volumeClaimTemplates") or []:
            volumes[meta(template)["name"]] = {
                "name": meta(template)["name"],
                "persistentVolumeClaim": {"claimName": claim_name(template, set_name, ordinal)}}
        if volumes:
            pod_spec["volumes"] = list(volumes.values())
        self.expectations.expect(key, adds=1)
        try:
            await self.client.create("pods", pod, ns)
        except errors.AlreadyExists:
            self.expectations.forget(key)
            return
        except Exception:
            self.expectations.forget(key)
            raise
        self.events.normal(sts, "SuccessfulCreate",
                           f"create Pod {name} in StatefulSet {set_name} successful")

    async def _ensure_claim(self, sts: JSONObject, template: JSONObject, ordinal: int) -> None:
        ns = meta(sts)["namespace"]
        name = claim_name(template, meta(sts)["name"], ordinal)
        if self.claims.store.get(f"{ns}/{name}") is not None:
            return
        selector = ((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        claim_meta: JSONObject = {"name": name, "namespace": ns, "labels": {
            **(meta(template).get("labels") or {}), **selector}}
        if meta(template).get("annotations"):
            claim_meta["annotations"] = dict(meta(template)["annotations"])
        policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
        if policy.get("whenDeleted") == "Delete":  # collected with the set
            claim_meta["ownerReferences"] = [plain_ref(sts)]
        body = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": claim_meta,
                "spec": copy.deepcopy(template.get("spec") or {})}
        with contextlib.suppress(errors.AlreadyExists):
            await self.client.create("persistentvolumeclaims", body, ns)

    async def _release_claims(self, sts: JSONObject, pod: JSONObject, ordinal: int) -> None:
        """persistentVolumeClaimRetentionPolicy.whenScaled=Delete: the claims of a removed
        ordinal get the pod as owner, so the garbage collector deletes them once it is gone."""
        policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
        if policy.get("whenScaled") != "Delete":
            return
        ns = meta(sts)["namespace"]
        for template in (sts.get("spec") or {}).get("volumeClaimTemplates") or []:
            claim = self.claims.store.get(
                f"{ns}/{claim_name(template, meta(sts)['name'], ordinal)}")
            if claim is None or any(r.get("uid") == meta(pod)["uid"]
                                    for r in meta(claim).get("ownerReferences") or []):
                continue
            # the set's reference goes (a live owner would keep the claim), the pod's comes
            refs = [r for r in meta(claim).get("ownerReferences") or []
                    if r.get("uid") != meta(sts)["uid"]] + [plain_ref(pod)]
            with contextlib.suppress(errors.NotFound):  # a Conflict retries the whole sync
                await self.client.update("persistentvolumeclaims", {
                    **claim, "metadata": {**meta(claim), "ownerReferences": refs}}, ns)

    async def _delete(self, pod: JSONObject, key: str) -> None:
        self.expectations.expect(key, dels=1)
        try:
            await self.client.delete("pods", meta(pod)["name"], meta(pod)["namespace"])
        except errors.NotFound:
            self.expectations.forget(key)

    async def _update_status(self, sts: JSONObject, update_revision: str,
                             by_ordinal: dict[int, JSONObject]) -> None:
        old = sts.get("status") or {}
        live = [p for p in by_ordinal.values() if not meta(p).get("deletionTimestamp")]

        def revision(pod: JSONObject) -> str:
            return f"{meta(sts)['name']}-{(meta(pod).get('labels') or {}).get(REVISION_HASH)}"
        updated = sum(revision(p) == update_revision for p in live)
        replicas = int((sts.get("spec") or {}).get("replicas", 1))
        current_revision = old.get("currentRevision") or update_revision
        if updated == len(live) == replicas:
            current_revision = update_revision
        ready = sum(running_and_ready(p) for p in live)
        status: JSONObject = {
            "observedGeneration": meta(sts).get("generation", 1), "replicas": len(live),
            "readyReplicas": ready, "availableReplicas": ready,
            "currentReplicas": sum(revision(p) == current_revision for p in live),
            "updatedReplicas": updated, "currentRevision": current_revision,
            "updateRevision": update_revision,
            "collisionCount": int(old.get("collisionCount") or 0)}
        if any(old.get(k, 0) != v for k, v in status.items()):
            with contextlib.suppress(errors.NotFound):
                await self.client.update_status("statefulsets", {**sts, "status": status})


def new_controller(ctx: ControllerContext) -> StatefulSetController:
    return StatefulSetController(ctx)
