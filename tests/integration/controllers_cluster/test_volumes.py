"""The persistent-volume binder against the real API server: a claim binds to the smallest
fitting volume (class, access modes, capacity), both become Bound, and a volume whose claim is
deleted is Released; `kubectl get pvc` shows the binding."""

from __future__ import annotations

from typing import Any

from cluster_controllers_harness import eventually, running_controllers

from apiserver_harness import Cluster  # isort: skip
from kubeadmpy.client import Client
from kubeadmpy.controllers.cluster import pvbinder
from kubeadmpy.controllers.registry import ManagerOptions


def volume(name: str, size: str, modes: list[str], storage_class: str = "manual"
           ) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": size}, "accessModes": modes,
                     "storageClassName": storage_class,
                     "persistentVolumeReclaimPolicy": "Retain",
                     "hostPath": {"path": f"/tmp/{name}"}}}


async def phase(admin: Client, kind: str, name: str, namespace: str | None = None) -> str:
    obj = await admin.get(kind, name, namespace)
    return str((obj.get("status") or {}).get("phase") or "")


async def test_a_claim_binds_to_the_smallest_fitting_volume_and_releases_it(
        admin: Client, cluster: Cluster) -> None:
    await admin.create("persistentvolumes", volume("too-small", "1Gi", ["ReadWriteOnce"]))
    await admin.create("persistentvolumes", volume("wrong-mode", "5Gi", ["ReadOnlyMany"]))
    await admin.create("persistentvolumes", volume("wrong-class", "5Gi", ["ReadWriteOnce"],
                                                   "fast"))
    await admin.create("persistentvolumes", volume("big", "10Gi", ["ReadWriteOnce"]))
    await admin.create("persistentvolumes", volume("fits", "5Gi", ["ReadWriteOnce",
                                                                   "ReadOnlyMany"]))
    await admin.create("persistentvolumeclaims", {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
        "resources": {"requests": {"storage": "2Gi"}}}}, "default")
    async with running_controllers(admin, ManagerOptions(),
                                   ("persistentvolume-binder", pvbinder.new_controller)):
        async def bound() -> bool:
            return await phase(admin, "persistentvolumeclaims", "data", "default") == "Bound"
        await eventually(bound, "the claim is Bound")
        claim = await admin.get("persistentvolumeclaims", "data", "default")
        assert claim["spec"]["volumeName"] == "fits"
        assert claim["status"]["capacity"] == {"storage": "5Gi"}
        assert claim["status"]["accessModes"] == ["ReadWriteOnce", "ReadOnlyMany"]
        assert claim["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
        bound_volume = await admin.get("persistentvolumes", "fits")
        assert bound_volume["spec"]["claimRef"]["name"] == "data"
        assert bound_volume["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
        await eventually(lambda: _is(admin, "fits", "Bound"), "the volume is Bound")
        for other in ("too-small", "wrong-mode", "wrong-class", "big"):
            await eventually(lambda name=other: _is(admin, name, "Available"),
                             f"{other} is Available")
        shown = cluster.kubectl("1.33", "get", "pvc", "data", "-n", "default").stdout
        assert "Bound" in shown and "fits" in shown

        await admin.delete("persistentvolumeclaims", "data", "default")
        await eventually(lambda: _is(admin, "fits", "Released"),
                         "the volume of a deleted claim is Released")


async def _is(admin: Client, name: str, wanted: str) -> bool:
    return await phase(admin, "persistentvolumes", name) == wanted


async def test_a_claim_without_a_fitting_volume_is_handed_to_its_classs_provisioner(
        admin: Client) -> None:
    provisioner = "hostpath.csi.kubeadmpy.io"
    for name, mode in (("immediate", "Immediate"), ("late", "WaitForFirstConsumer")):
        await admin.create("storageclasses", {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": name}, "provisioner": provisioner,
            "volumeBindingMode": mode})
    for name in ("now", "later"):
        await admin.create("persistentvolumeclaims", {"metadata": {"name": name}, "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "immediate" if name == "now" else "late",
            "resources": {"requests": {"storage": "1Gi"}}}}, "default")
    annotation = "volume.kubernetes.io/storage-provisioner"

    async def annotated(name: str) -> str | None:
        claim = await admin.get("persistentvolumeclaims", name, "default")
        return (claim["metadata"].get("annotations") or {}).get(annotation)
    async with running_controllers(admin, ManagerOptions(),
                                   ("persistentvolume-binder", pvbinder.new_controller)):
        assert await eventually(lambda: annotated("now"),
                                "the Immediate claim names its provisioner") == provisioner
        assert await phase(admin, "persistentvolumeclaims", "now", "default") == "Pending"
        await eventually(lambda: _pending(admin, "later"), "the late claim is Pending")
        assert await annotated("later") is None  # no node chosen yet
        # what the scheduler does once a pod using the claim is placed
        await admin.patch("persistentvolumeclaims", "later", {"metadata": {"annotations": {
            "volume.kubernetes.io/selected-node": "node-a"}}}, "default")
        assert await eventually(lambda: annotated("later"),
                                "then it is handed to the provisioner") == provisioner
        events = (await admin.list("events", "default")).items
        assert any(e["reason"] == "ExternalProvisioning" and
                   e["involvedObject"]["name"] == "now" for e in events)
        assert any(e["reason"] == "WaitForFirstConsumer" and
                   e["involvedObject"]["name"] == "later" for e in events)


async def _pending(admin: Client, name: str) -> bool:
    return await phase(admin, "persistentvolumeclaims", name, "default") == "Pending"


async def test_a_claim_nothing_can_satisfy_says_why_once(admin: Client, cluster: Cluster) -> None:
    await admin.create("persistentvolumeclaims", {"metadata": {"name": "orphan"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "storageClassName": "",
        "resources": {"requests": {"storage": "1Gi"}}}}, "default")
    async with running_controllers(admin, ManagerOptions(),
                                   ("persistentvolume-binder", pvbinder.new_controller)):
        async def failed_binding() -> list[dict[str, Any]] | None:
            events = [e for e in (await admin.list("events", "default")).items
                      if e["reason"] == "FailedBinding"]
            return events or None
        (event,) = await eventually(failed_binding, "the claim gets a FailedBinding event")
    assert event["message"] == ("no persistent volumes available for this claim and no "
                                "storage class is set")
    described = cluster.kubectl("1.33", "describe", "pvc", "orphan", "-n", "default").stdout
    assert "FailedBinding" in described and "Pending" in described
