"""The cluster controllers run with the identities upstream gives them: each writes as
system:serviceaccount:kube-system:<account> (the registry's account, with a token from the
TokenRequest API, as --use-service-account-credentials does) while the shared informers read
as the controller-manager — against the real API server enforcing Node,RBAC."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from cluster_controllers_harness import SimulatedNodes, eventually, running_controllers

from apiserver_harness import Cluster  # isort: skip
from kubeadmpy.client import Client, errors
from kubeadmpy.controllers.cluster import (
    endpoints,
    endpointslice,
    nodeipam,
    pvbinder,
    rootca,
    serviceaccount,
)
from kubeadmpy.controllers.manager import ServiceAccountCredentials
from kubeadmpy.controllers.registry import BY_NAME, ManagerOptions

FACTORIES = {"node-ipam-controller": nodeipam.new_controller,
             "endpoints-controller": endpoints.new_controller,
             "endpointslice-controller": endpointslice.new_controller,
             "serviceaccount-controller": serviceaccount.new_controller,
             "root-ca-certificate-publisher-controller": rootca.new_controller,
             "persistentvolume-binder-controller": pvbinder.new_controller}


@contextlib.asynccontextmanager
async def controller_clients(admin: Client) -> AsyncIterator[dict[str, Client]]:
    credentials = ServiceAccountCredentials(admin)
    clients: dict[str, Client] = {}
    try:
        for name in FACTORIES:
            config = await credentials.config_for(BY_NAME[name].service_account)
            clients[name] = Client(config.with_overrides(qps=0))
        yield clients
    finally:
        for client in clients.values():
            await client.close()


async def test_cluster_controllers_do_their_work_as_their_own_service_accounts(
        admin: Client, nodes: SimulatedNodes, cluster: Cluster) -> None:
    await nodes.add("node-a")
    await admin.create("namespaces", {"metadata": {"name": "team"}})
    await admin.create("services", {"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"port": 80}]}}, "team")
    await admin.create("pods", {"metadata": {"name": "web-1", "labels": {"app": "web"}},
                                "spec": {"nodeName": "node-a", "containers": [
                                    {"name": "c", "image": "x"}]}}, "team")
    await admin.create("persistentvolumes", {"metadata": {"name": "pv1"}, "spec": {
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
        "hostPath": {"path": "/tmp/pv1"}}})
    await admin.create("persistentvolumeclaims", {"metadata": {"name": "claim"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "storageClassName": "",
        "resources": {"requests": {"storage": "1Gi"}}}}, "team")
    options = ManagerOptions(allocate_node_cidrs=True, cluster_cidr="10.244.0.0/16",
                             root_ca_file=cluster.certs.path("ca.crt"))
    async with controller_clients(admin) as clients:
        whoami = await clients["endpoints-controller"].request(
            "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        assert whoami["status"]["userInfo"]["username"] == \
            "system:serviceaccount:kube-system:endpoint-controller"
        try:  # and it may not do what its role does not allow
            await clients["endpoints-controller"].create("secrets", {
                "metadata": {"name": "nope"}}, "team")
            raise AssertionError("the endpoint-controller account could create a Secret")
        except errors.Forbidden:
            pass
        async with running_controllers(admin, options, *FACTORIES.items(), clients=clients):
            await nodes.mark_pod_ready("team", "web-1", "10.244.0.5")

            async def all_done() -> bool:
                node = await admin.get("nodes", "node-a")
                ep = await admin.get("endpoints", "web", "team")
                slices = (await admin.list("endpointslices", "team")).items
                claim = await admin.get("persistentvolumeclaims", "claim", "team")
                await admin.get("serviceaccounts", "default", "team")
                await admin.get("configmaps", "kube-root-ca.crt", "team")
                return bool((node.get("spec") or {}).get("podCIDR")) and \
                    bool(ep.get("subsets")) and bool(slices) and \
                    (claim.get("status") or {}).get("phase") == "Bound"
            await eventually(all_done, "every controller did its work under its own account")
