"""The persistent-volume binder: binds claims to fitting volumes and keeps both phases true.

Binding is upstream's order of writes, each one safe to repeat after a crash: the volume's
`spec.claimRef` (annotated bound-by-controller), the volume's phase Bound, the claim's
`spec.volumeName` (annotated bind-completed), the claim's phase Bound with the volume's
capacity and access modes. Volumes without a claim are Available; a volume whose claim is gone
is Released (its reclaim policy is the deleter's business). A claim whose volume disappeared
is Lost. A claim with no fitting volume stays Pending; when its StorageClass names a
provisioner the claim is annotated `volume.kubernetes.io/storage-provisioner` (and the beta
key) so that provisioner (the CSI issue's) creates a volume — for a WaitForFirstConsumer class
only once the scheduler has picked a node (`volume.kubernetes.io/selected-node`).
"""

from __future__ import annotations

import logging

from kubeadmpy.client import Controller, Request, Result
from kubeadmpy.controllers.cluster import volumematch
from kubeadmpy.controllers.cluster.common import (
    JSONObject,
    meta,
    name_of,
    namespace_of,
    spec,
    status,
    writable,
)
from kubeadmpy.controllers.cluster.events import NORMAL, EventRecorder
from kubeadmpy.controllers.registry import ControllerContext

log = logging.getLogger(__name__)
NAME = "persistentvolume-binder-controller"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
PROVISIONER_ANNOTATIONS = ("volume.kubernetes.io/storage-provisioner",
                           "volume.beta.kubernetes.io/storage-provisioner")
NO_PROVISIONER = "kubernetes.io/no-provisioner"
VOLUME_PREFIX = "pv:"  # volume keys share the queue with claim keys (claims are namespaced)


def _claim_of_volume(volume: JSONObject) -> list[Request]:
    ref = spec(volume).get("claimRef") or {}
    requests = [Request(VOLUME_PREFIX, name_of(volume))]
    if ref.get("namespace") and ref.get("name"):
        requests.append(Request(str(ref["namespace"]), str(ref["name"])))
    return requests


class PersistentVolumeBinder:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.volumes = ctx.informers.informer("persistentvolumes")
        self.claims = ctx.informers.informer("persistentvolumeclaims")
        self.classes = ctx.informers.informer("storageclasses")
        self.events = EventRecorder(ctx.client, "persistentvolume-controller", ctx.clock)
        self._told: dict[str, str] = {}  # claim uid → last event message
        # One worker: two claims must not both take the last fitting volume.
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock)
        self.controller.watch(self.volumes, _claim_of_volume)
        self.controller.watch(self.claims, self._claim_and_volume)
        self.controller.watch(self.classes, self._unbound_claims_of_class)

    def _unbound_claims_of_class(self, storage_class: JSONObject) -> list[Request]:
        return [Request.of(claim) for claim in self.claims.store.list()
                if not spec(claim).get("volumeName")
                and volumematch.claim_class(claim) == name_of(storage_class)]

    def _claim_and_volume(self, claim: JSONObject) -> list[Request]:
        requests = [Request.of(claim)]
        if spec(claim).get("volumeName"):
            requests.append(Request(VOLUME_PREFIX, str(spec(claim)["volumeName"])))
        return requests

    async def run(self) -> None:
        await self.controller.run()

    async def reconcile(self, request: Request) -> Result | None:
        if request.namespace == VOLUME_PREFIX:
            await self._sync_volume(request.name)
        else:
            await self._sync_claim(request)
        return None

    # --- volumes ---------------------------------------------------------------------------

    async def _sync_volume(self, name: str) -> None:
        volume = self.volumes.store.get(name)
        if volume is None:
            return
        ref = spec(volume).get("claimRef") or {}
        if not ref:
            await self._volume_phase(volume, "Available")
            return
        claim = self.claims.store.get(f"{ref.get('namespace')}/{ref.get('name')}")
        if claim is None or (ref.get("uid") and ref.get("uid") != meta(claim).get("uid")):
            if ref.get("uid"):  # it was bound and the claim is gone
                await self._volume_phase(volume, "Released")
            else:               # pre-bound by a user to a claim that does not exist yet
                await self._volume_phase(volume, "Available")
            return
        if spec(claim).get("volumeName") == name:
            await self._volume_phase(volume, "Bound")

    async def _volume_phase(self, volume: JSONObject, phase: str) -> JSONObject:
        if status(volume).get("phase") == phase:
            return volume
        changed = writable(volume)
        changed.setdefault("status", {})["phase"] = phase
        log.info("persistentvolume %s: phase %s", name_of(volume), phase)
        updated: JSONObject = await self.client.update_status("persistentvolumes", changed)
        return updated

    # --- claims ----------------------------------------------------------------------------

    async def _sync_claim(self, request: Request) -> None:
        claim = self.claims.store.get(request.key)
        if claim is None:
            return
        volume_name = str(spec(claim).get("volumeName") or "")
        if volume_name:
            volume = self.volumes.store.get(volume_name)
            if volume is None:
                await self._claim_phase(claim, "Lost", None)
                return
            ref = spec(volume).get("claimRef") or {}
            if not ref:
                volume = await self._bind_volume(volume, claim)
            elif not volumematch.refers_to(volume, claim):
                await self._claim_phase(claim, "Lost", None)
                return
            await self._volume_phase(volume, "Bound")
            await self._claim_phase(claim, "Bound", volume)
            return
        if self._waits_for_consumer(claim):
            await self._tell(claim, "WaitForFirstConsumer",
                             "waiting for first consumer to be created before binding")
            await self._claim_phase(claim, "Pending", None)
            return
        volume = volumematch.best_volume(self.volumes.store.list(), claim)
        if volume is None:
            claim = await self._request_provisioning(claim)
            if not (meta(claim).get("annotations") or {}).get(PROVISIONER_ANNOTATIONS[0]):
                await self._tell(claim, "FailedBinding", self._why_unbound(claim))
            await self._claim_phase(claim, "Pending", None)
            return
        log.info("binding claim %s to volume %s", request.key, name_of(volume))
        volume = await self._bind_volume(volume, claim)
        volume = await self._volume_phase(volume, "Bound")
        changed = writable(claim)
        changed["spec"]["volumeName"] = name_of(volume)
        annotations = changed["metadata"].setdefault("annotations", {})
        annotations[volumematch.BIND_COMPLETED] = "yes"
        annotations[volumematch.BOUND_BY_CONTROLLER] = "yes"
        claim = await self.client.update("persistentvolumeclaims", changed, request.namespace)
        await self._claim_phase(claim, "Bound", volume)
        self._told.pop(str(meta(claim).get("uid") or ""), None)

    def _why_unbound(self, claim: JSONObject) -> str:
        class_name = volumematch.claim_class(claim)
        if not class_name:
            return "no persistent volumes available for this claim and no storage class is set"
        if self.classes.store.get(class_name) is None:
            return f'storageclass.storage.k8s.io "{class_name}" not found'
        return "no persistent volumes available for this claim"

    async def _tell(self, claim: JSONObject, reason: str, message: str) -> None:
        """Record a Normal event once per claim and message (upstream aggregates repeats)."""
        uid = str(meta(claim).get("uid") or "")
        if self._told.get(uid) == message:
            return
        self._told[uid] = message
        await self.events.record({"kind": "PersistentVolumeClaim", **claim}, NORMAL, reason,
                                 message)

    def _waits_for_consumer(self, claim: JSONObject) -> bool:
        storage_class = self.classes.store.get(volumematch.claim_class(claim))
        annotations = meta(claim).get("annotations") or {}
        return bool(storage_class and storage_class.get("volumeBindingMode") ==
                    "WaitForFirstConsumer" and SELECTED_NODE not in annotations)

    async def _request_provisioning(self, claim: JSONObject) -> JSONObject:
        storage_class = self.classes.store.get(volumematch.claim_class(claim))
        provisioner = str((storage_class or {}).get("provisioner") or "")
        annotations = meta(claim).get("annotations") or {}
        if not provisioner or provisioner == NO_PROVISIONER or \
                annotations.get(PROVISIONER_ANNOTATIONS[0]) == provisioner:
            return claim
        changed = writable(claim)
        for key in PROVISIONER_ANNOTATIONS:
            changed["metadata"].setdefault("annotations", {})[key] = provisioner
        updated: JSONObject = await self.client.update("persistentvolumeclaims", changed,
                                                       namespace_of(claim))
        await self.events.record({"kind": "PersistentVolumeClaim", **updated}, NORMAL,
                                 "ExternalProvisioning",
                                 f"Waiting for a volume to be created either by the external "
                                 f"provisioner '{provisioner}' or manually by the system "
                                 "administrator. If volume creation is delayed, please verify "
                                 "that the provisioner is running and correctly registered.")
        return updated

    async def _bind_volume(self, volume: JSONObject, claim: JSONObject) -> JSONObject:
        if volumematch.refers_to(volume, claim) and (spec(volume).get("claimRef") or {}).get(
                "uid"):
            return volume
        changed = writable(volume)
        changed["spec"]["claimRef"] = {
            "kind": "PersistentVolumeClaim", "apiVersion": "v1",
            "namespace": namespace_of(claim), "name": name_of(claim),
            "uid": meta(claim).get("uid", ""),
            "resourceVersion": meta(claim).get("resourceVersion", "")}
        changed["metadata"].setdefault("annotations", {})[
            volumematch.BOUND_BY_CONTROLLER] = "yes"
        updated: JSONObject = await self.client.update("persistentvolumes", changed)
        return updated

    async def _claim_phase(self, claim: JSONObject, phase: str,
                           volume: JSONObject | None) -> None:
        wanted: JSONObject = {"phase": phase}
        if volume is not None and phase == "Bound":
            wanted["accessModes"] = list(spec(volume).get("accessModes") or [])
            wanted["capacity"] = dict(spec(volume).get("capacity") or {})
        current = status(claim)
        if all(current.get(k) == v for k, v in wanted.items()):
            return
        changed = writable(claim)
        changed.setdefault("status", {}).update(wanted)
        await self.client.update_status("persistentvolumeclaims", changed, namespace_of(claim))
        log.info("persistentvolumeclaim %s/%s: phase %s", namespace_of(claim), name_of(claim),
                 phase)


def new_controller(ctx: ControllerContext) -> PersistentVolumeBinder:
    return PersistentVolumeBinder(ctx)
