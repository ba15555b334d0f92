"""kubeadmpy-flanneld against the real apiserver, its dataplane in a network namespace of the
test's own: it waits for its podCIDR, annotates its Node (as kubectl shows), writes subnet.env
and the masquerade table, and keeps flannel.1's routes in step with the other Nodes as they
come and go."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "client"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "node" / "network"))

from apiserver_harness import Cluster  # isort: skip
from client_harness import eventually  # isort: skip
from flannel_netns import veth_namespace  # isort: skip
from kubeadmpy.client import Client, load_kubeconfig
from kubeadmpy.network import flanneld, node_annotations

MAC_B = "0a:58:0a:f4:02:01"


def output(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def ip(netns: str, *args: str) -> str:
    return output("ip", "-n", netns, *args)


@pytest.fixture
def netns() -> Iterator[str]:
    """The node's network: eth0 (10.214.1.1/24, test-only) of a veth pair in a namespace."""
    with veth_namespace("api", "10.214.1.1/24") as name:
        yield name


async def probe(status: flanneld.Status, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{status.healthz_port}{path}") as response:
        return response.status, await response.text()


def node(name: str, cidr: str | None = None, annotations: dict[str, str] | None = None
         ) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {}}


async def test_flanneld_annotates_its_node_and_routes_to_the_others(
        own_cluster: Cluster, netns: str, tmp_path: Path) -> None:
    conf = tmp_path / "net-conf.json"
    conf.write_text(json.dumps({"Network": "10.244.0.0/16",
                                "Backend": {"Type": "vxlan", "VNI": 1, "Port": 8472}}))
    subnet_file = tmp_path / "run/flannel/subnet.env"
    nft = ("ip", "netns", "exec", netns, "nft")
    settings = flanneld.Settings(
        node_name="node-a", net_conf_path=str(conf), subnet_file=str(subnet_file),
        ifaces=("eth0",), ip_masq=True, resync_seconds=1, netns=netns, nft_command=nft,
        healthz_ip="127.0.0.1", healthz_port=0)
    status = flanneld.Status()
    async with Client(load_kubeconfig(own_cluster.kubeconfig)) as client:
        await client.create("nodes", node("node-a"))
        peer_annotations = node_annotations.own_annotations(
            1, MAC_B, ipaddress.IPv4Address("10.214.1.2"))
        await client.create("nodes", node("node-b", "10.244.2.0/24", peer_annotations))
        async with asyncio.TaskGroup() as group:
            task = group.create_task(flanneld.run(settings, status, client))
            try:
                await eventually(lambda: status.waiting_for == "podCIDR", "waiting for IPAM")
                assert not subnet_file.exists()
                assert "flannel.1" not in ip(netns, "link")
                assert await probe(status, "/healthz") == (200, "ok")
                assert await probe(status, "/readyz") == (
                    503, "not ready: waiting for podCIDR; subnet.env is not written yet")

                # Node IPAM assigns the podCIDR: flanneld takes it from there.
                await client.patch("nodes", "node-a", {"spec": {
                    "podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}})
                await asyncio.wait_for(status.ready.wait(), 30)
                assert await probe(status, "/readyz") == (200, "ok")
                mac = ip(netns, "-br", "link", "show", "flannel.1").split()[2]
                shown = json.loads(own_cluster.kubectl(
                    "1.33", "get", "node", "node-a", "-o",
                    "jsonpath={.metadata.annotations}").stdout)
                assert shown == {
                    "flannel.alpha.coreos.com/backend-data":
                        json.dumps({"VNI": 1, "VtepMAC": mac}, separators=(",", ":")),
                    "flannel.alpha.coreos.com/backend-type": "vxlan",
                    "flannel.alpha.coreos.com/kube-subnet-manager": "true",
                    "flannel.alpha.coreos.com/public-ip": "10.214.1.1"}
                assert subnet_file.read_text() == (
                    "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n"
                    "FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n")
                assert "10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink" in ip(netns, "route")
                assert f"{MAC_B} dst 10.214.1.2 self permanent" in output(
                    "bridge", "-n", netns, "fdb", "show", "dev", "flannel.1")
                assert "masquerade" in output(*nft, "list", "table", "ip", "kubeadmpy-flannel")

                # A third node joins; the second one leaves.
                await client.create("nodes", node("node-c", "10.244.3.0/24", {
                    **peer_annotations, node_annotations.PUBLIC_IP: "10.214.1.3"}))
                await eventually(lambda: "10.244.3.0/24 via 10.244.3.0" in ip(netns, "route"),
                                 "a route to node-c")
                await client.delete("nodes", "node-b")
                # status.peers is updated after the kernel, so once it shows node-b gone, the
                # route is gone too (waiting on the route instead races the status update).
                await eventually(lambda: [p.node for p in status.peers] == ["node-c"],
                                 "node-b no longer a peer")
                assert "10.244.2.0/24" not in ip(netns, "route")

                # Someone deletes the device by hand: the periodic resync puts it all back,
                # with the MAC the Node advertises.
                ip(netns, "link", "del", "flannel.1")
                await eventually(lambda: "10.244.3.0/24 via 10.244.3.0" in ip(netns, "route"),
                                 "the route back after the device was deleted")
                assert ip(netns, "-br", "link", "show", "flannel.1").split()[2] == mac
            finally:
                task.cancel()


async def test_a_pod_cidr_outside_network_is_reported_and_nothing_is_programmed(
        own_cluster: Cluster, netns: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    conf = tmp_path / "net-conf.json"
    conf.write_text(json.dumps({"Network": "10.244.0.0/16"}))
    settings = flanneld.Settings(node_name="node-x", net_conf_path=str(conf),
                                 subnet_file=str(tmp_path / "subnet.env"), ifaces=("eth0",),
                                 netns=netns)
    status = flanneld.Status()
    async with Client(load_kubeconfig(own_cluster.kubeconfig)) as client:
        await client.create("nodes", node("node-x", "10.99.0.0/24"))
        async with asyncio.TaskGroup() as group:
            task = group.create_task(flanneld.run(settings, status, client))
            try:
                await eventually(lambda: "outside Network" in caplog.text, "the error logged")
                assert ("Node node-x has podCIDR 10.99.0.0/24, outside Network 10.244.0.0/16 of "
                        f"{conf}; make net-conf's Network the cluster's --pod-network-cidr"
                        ) in caplog.text
                assert not status.ready.is_set() and not (tmp_path / "subnet.env").exists()
                assert "flannel.1" not in ip(netns, "link")
            finally:
                task.cancel()
