"""A real etcd + kubeadmpy-apiserver with init's bootstrap-token and upload-config objects, and
the real bootstrap signer running: what a joining node talks to."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "controllers_cluster"))

from apiserver_harness import Cluster  # isort: skip
from cluster_controllers_harness import eventually, running_controllers  # isort: skip
from join_values import POD_CIDR, TOKEN  # isort: skip
from kubeadmpy.client import Client, load_kubeconfig
from kubeadmpy.config import InitFlags, load_init_config
from kubeadmpy.config.printing import cluster_configuration_yaml
from kubeadmpy.controllers.cluster import bootstrapsigner
from kubeadmpy.controllers.registry import ManagerOptions
from kubeadmpy.phases import apiclient, cluster_objects
from kubeadmpy.render.kubelet import KubeletValues, kubelet_configuration


@pytest.fixture
async def admin(own_cluster: Cluster) -> AsyncIterator[Client]:
    async with Client(load_kubeconfig(own_cluster.kubeconfig)) as client:
        yield client


@pytest.fixture
async def joinable(own_cluster: Cluster, admin: Client) -> AsyncIterator[Cluster]:
    """The objects `kubeadmpy init` stores for joining nodes, signed by the bootstrap signer."""
    cluster = own_cluster
    bundle = load_init_config(None, InitFlags(apiserver_advertise_address="127.0.0.1",
                                              node_name="cp1", pod_network_cidr=POD_CIDR,
                                              token=TOKEN))
    ca_pem = (cluster.certs.dir / "ca.crt").read_bytes()
    kubelet, _ = kubelet_configuration(KubeletValues(flavor="python", node_name="cp1",
                                                     hostname="cp1"))
    objects = [
        *(cluster_objects.bootstrap_token_secret(t, datetime.now(UTC))
          for t in bundle.init.bootstrap_tokens),
        *cluster_objects.bootstrap_rbac(),
        *cluster_objects.cluster_info(ca_pem, cluster.apiserver.url),
        *cluster_objects.kubeadm_config(cluster_configuration_yaml(bundle.cluster)),
        *cluster_objects.kubelet_config(kubelet),
    ]
    await apiclient.apply_all(admin, objects)
    async with running_controllers(admin, ManagerOptions(),
                                   ("bootstrapsigner", bootstrapsigner.new_controller)):
        async def signed() -> bool:
            data = (await admin.get("configmaps", "cluster-info", "kube-public"))["data"]
            return "jws-kubeconfig-abcdef" in data
        await eventually(signed, "cluster-info signed for token abcdef")
        yield cluster
