"""Endpoints and EndpointSlices follow pods becoming ready and unready (the test marks pods
Ready through the status subresource, as their kubelet would), and every namespace gets its
`default` ServiceAccount and `kube-root-ca.crt`; checked with the real kubectl too."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster_controllers_harness import SimulatedNodes, eventually, running_controllers

from apiserver_harness import Cluster  # isort: skip
from kubeadmpy.client import Client
from kubeadmpy.controllers.cluster import (
    endpoints,
    endpointslice,
    rootca,
    serviceaccount,
)
from kubeadmpy.controllers.registry import ManagerOptions

NS = "default"


async def _pod(admin: Client, name: str, app: str = "web") -> None:
    await admin.create("pods", {"metadata": {"name": name, "labels": {"app": app}}, "spec": {
        "nodeName": "node-a", "containers": [{"name": "c", "image": "x", "ports": [
            {"name": "http", "containerPort": 8080}]}]}}, NS)


def _read(path: str) -> str:
    return Path(path).read_text()


def _addresses(ep: dict[str, Any]) -> tuple[list[str], list[str]]:
    ready = [a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
    waiting = [a["ip"] for s in ep.get("subsets") or []
               for a in s.get("notReadyAddresses") or []]
    return sorted(ready), sorted(waiting)


async def test_endpoints_and_slices_follow_pods_becoming_ready_and_unready(
        admin: Client, nodes: SimulatedNodes, cluster: Cluster) -> None:
    await nodes.add("node-a")
    await admin.create("services", {"metadata": {"name": "web", "labels": {"tier": "front"}},
                                    "spec": {"selector": {"app": "web"}, "ports": [
                                        {"name": "web", "port": 80, "targetPort": "http"}]}},
                       NS)
    for name in ("web-1", "web-2"):
        await _pod(admin, name)
    await _pod(admin, "other", app="db")
    controllers = (("endpoint", endpoints.new_controller),
                   ("endpointslice", endpointslice.new_controller))
    async with running_controllers(admin, ManagerOptions(), *controllers):
        await nodes.mark_pod_ready(NS, "web-1", "10.244.0.11")
        await nodes.mark_pod_ready(NS, "web-2", "10.244.0.12", ready=False)
        await nodes.mark_pod_ready(NS, "other", "10.244.0.13")

        async def endpoints_are(ready: list[str], waiting: list[str]) -> dict | None:  # type: ignore[type-arg]
            ep = await admin.get("endpoints", "web", NS)
            return ep if _addresses(ep) == (ready, waiting) else None

        async def slice_ready(expected: dict[str, bool]) -> dict | None:  # type: ignore[type-arg]
            slices = (await admin.list("endpointslices", NS,
                                       label_selector="kubernetes.io/service-name=web")).items
            seen = {e["addresses"][0]: e["conditions"]["ready"]
                    for s in slices for e in s.get("endpoints") or []}
            return slices[0] if len(slices) == 1 and seen == expected else None

        ep = await eventually(lambda: endpoints_are(["10.244.0.11"], ["10.244.0.12"]),
                              "Endpoints list web-1 ready and web-2 not ready")
        assert ep["subsets"][0]["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
        assert ep["metadata"]["labels"] == {"tier": "front"}
        address = ep["subsets"][0]["addresses"][0]
        assert address["nodeName"] == "node-a"
        assert address["targetRef"]["name"] == "web-1"
        slice_ = await eventually(lambda: slice_ready({"10.244.0.11": True,
                                                       "10.244.0.12": False}),
                                  "the EndpointSlice shows web-1 ready, web-2 not")
        assert slice_["addressType"] == "IPv4"
        assert slice_["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
        assert slice_["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == \
            "endpointslice-controller.k8s.io"
        assert slice_["metadata"]["ownerReferences"][0]["kind"] == "Service"

        await nodes.mark_pod_ready(NS, "web-2", "10.244.0.12")
        await nodes.mark_pod_ready(NS, "web-1", "10.244.0.11", ready=False)
        await eventually(lambda: endpoints_are(["10.244.0.12"], ["10.244.0.11"]),
                         "Endpoints swap after readiness changes")
        await eventually(lambda: slice_ready({"10.244.0.11": False, "10.244.0.12": True}),
                         "the EndpointSlice swaps readiness too")

        # relabelled out of the selector: gone from both
        await admin.patch("pods", "web-2", {"metadata": {"labels": {"app": "moved"}}}, NS)
        await eventually(lambda: endpoints_are([], ["10.244.0.11"]),
                         "a pod that no longer matches leaves the Endpoints")
        await eventually(lambda: slice_ready({"10.244.0.11": False}),
                         "and leaves the EndpointSlice")
        shown = cluster.kubectl("1.33", "get", "endpoints", "web", "-n", NS).stdout
        assert "web" in shown

        await admin.delete("services", "web", NS)

        async def endpoints_gone() -> bool:
            listed = (await admin.list("endpoints", NS)).items
            return all(e["metadata"]["name"] != "web" for e in listed)
        await eventually(endpoints_gone, "the Endpoints go with their Service")


async def test_every_namespace_gets_a_default_service_account_and_the_root_ca(
        admin: Client, cluster: Cluster) -> None:
    ca_file = cluster.certs.path("ca.crt")
    ca_pem = _read(ca_file)
    options = ManagerOptions(root_ca_file=ca_file)
    await admin.create("namespaces", {"metadata": {"name": "before"}})
    async with running_controllers(admin, options,
                                   ("serviceaccount", serviceaccount.new_controller),
                                   ("root-ca", rootca.new_controller)):
        await admin.create("namespaces", {"metadata": {"name": "after"}})
        for namespace in ("before", "after", "default", "kube-system"):
            await eventually(lambda ns=namespace: admin.get("serviceaccounts", "default", ns),
                             f"namespace {namespace} has a default ServiceAccount")
            configmap = await eventually(
                lambda ns=namespace: admin.get("configmaps", "kube-root-ca.crt", ns),
                f"namespace {namespace} has kube-root-ca.crt")
            assert configmap["data"] == {"ca.crt": ca_pem}

        # both come back when deleted or edited
        await admin.delete("serviceaccounts", "default", "after")
        await admin.patch("configmaps", "kube-root-ca.crt", {"data": {"ca.crt": "tampered"}},
                          "after")

        async def restored() -> bool:
            configmap = await admin.get("configmaps", "kube-root-ca.crt", "after")
            account = await admin.get("serviceaccounts", "default", "after")
            return configmap["data"]["ca.crt"] == ca_pem and bool(account)
        await eventually(restored, "the default ServiceAccount and CA bundle are restored")
        listed = cluster.kubectl("1.33", "get", "serviceaccounts", "-n", "after").stdout
        assert "default" in listed


async def test_a_burst_of_pods_behind_a_new_service_yields_one_slice(
        admin: Client, nodes: SimulatedNodes) -> None:
    await nodes.add("node-a")
    ever_created: set[str] = set()

    async def record_creations(resource_version: str) -> None:
        async with admin.watch("endpointslices", NS, resource_version=resource_version,
                               label_selector="kubernetes.io/service-name=burst") as events:
            async for event in events:
                if event.type == "ADDED":
                    ever_created.add(event.object["metadata"]["name"])
    start = (await admin.list("endpointslices", NS)).resource_version
    recorder = asyncio.create_task(record_creations(start))
    async with running_controllers(admin, ManagerOptions(),
                                   ("endpointslice", endpointslice.new_controller)):
        await admin.create("services", {"metadata": {"name": "burst"}, "spec": {
            "selector": {"app": "burst"}, "ports": [{"port": 80}]}}, NS)
        names = [f"burst-{i}" for i in range(20)]
        await asyncio.gather(*(_pod(admin, name, app="burst") for name in names))
        await asyncio.gather(*(nodes.mark_pod_ready(NS, name, f"10.244.3.{i + 1}")
                               for i, name in enumerate(names)))

        async def all_in_one() -> list[dict[str, Any]] | None:
            slices = (await admin.list("endpointslices", NS,
                                       label_selector="kubernetes.io/service-name=burst")).items
            ready = sum(1 for s in slices for e in s.get("endpoints") or []
                        if e["conditions"]["ready"])
            return slices if ready == 20 else None
        slices = await eventually(all_in_one, "all 20 pods are ready in the slices")
    recorder.cancel()
    assert len(slices) == 1
    assert ever_created == {slices[0]["metadata"]["name"]}  # never a duplicate, even briefly
