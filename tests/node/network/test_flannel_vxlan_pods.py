"""Two nodes (network namespaces on a veth "wire"), flannel's dataplane programmed in each from
Node objects, a pod under each created through the real `flannel` CNI plugin → bridge →
host-local: the pods ping each other across VXLAN, DEL cleans up, and a node that goes away
takes its entries with it."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from flannel_netns import NETWORK, FakeNode, cni, node_object, run, two_nodes

from kubeadmpy.network import (
    cleanup,
    cni_install,
    dataplane,
    masq,
    netconf,
    node_annotations,
    subnetenv,
)
from kubeadmpy.network.dataplane import LocalNetwork
from kubeadmpy.network.netlink import Kernel

CONF = netconf.parse_net_conf(json.dumps({"Network": str(NETWORK),
                                          "Backend": {"Type": "vxlan", "VNI": 1,
                                                      "Port": 8472}}))

pytestmark = pytest.mark.skipif(shutil.which("busybox") is None or
                                not Path("/usr/lib/cni/bridge").exists(),
                                reason="needs busybox-static and containernetworking-plugins "
                                       "(scripts/setup.sh installs both)")


async def bring_up(node: FakeNode) -> LocalNetwork:
    async with Kernel(node.netns) as kernel:
        return await dataplane.ensure_local(kernel, CONF, node.pod_cidr, ifaces=("eth0",))


async def program_peers(node: FakeNode, local: LocalNetwork, nodes: list[dict[str, Any]]
                        ) -> int:
    peers, skipped = node_annotations.peers(nodes, node.name, CONF.backend.vni)
    assert skipped == []
    async with Kernel(node.netns) as kernel:
        return len((await dataplane.sync_peers(kernel, local.device_index, peers)).add)


def flannel_conf(tmp: Path, node: FakeNode) -> dict[str, Any]:
    """What a runtime passes from /etc/cni/net.d/10-flannel.conflist, with per-node state
    directories so two nodes can share this machine's filesystem."""
    return {"cniVersion": "1.0.0", "name": "cbr0", "type": "flannel",
            "subnetFile": str(tmp / node.name / "subnet.env"),
            "dataDir": str(tmp / node.name / "flannel"),
            "delegate": {"hairpinMode": True, "isDefaultGateway": True},
            "ipam": {"dataDir": str(tmp / node.name / "networks")}}


def test_pods_on_two_nodes_reach_each_other_over_vxlan(tmp_path: Path) -> None:
    plugin = cni_install.write_launcher(tmp_path / "bin")
    with two_nodes() as (a, b):
        local = {n.name: asyncio.run(bring_up(n)) for n in (a, b)}
        nodes = [node_object(n, node_annotations.own_annotations(
            CONF.backend.vni, local[n.name].vtep_mac, local[n.name].public_ip)) for n in (a, b)]
        assert [asyncio.run(program_peers(n, local[n.name], nodes)) for n in (a, b)] == [3, 3]
        # Level-triggered: the same desired state again changes nothing.
        assert asyncio.run(program_peers(a, local["node-a"], nodes)) == 0

        # What `ip`/`bridge` show on node-a, as docs/networking.md describes it.
        link = run("ip", "-d", "link", "show", "flannel.1", netns=a.netns).stdout
        for expected in ("mtu 1450", "vxlan id 1", f"local {a.address}", "dstport 8472",
                         "nolearning"):
            assert expected in link
        assert "inet 10.244.1.0/32" in run("ip", "addr", "show", "flannel.1",
                                           netns=a.netns).stdout
        mac_b = local["node-b"].vtep_mac
        assert "10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink" in run(
            "ip", "route", netns=a.netns).stdout
        assert f"{mac_b} dst {b.address} self permanent" in run(
            "bridge", "fdb", "show", "dev", "flannel.1", netns=a.netns).stdout
        assert f"10.244.2.0 lladdr {mac_b} PERMANENT" in run(
            "ip", "neigh", "show", "dev", "flannel.1", netns=a.netns).stdout

        pod_ip: dict[str, str] = {}
        for node in (a, b):
            env = subnetenv.SubnetEnv.for_node(NETWORK, node.pod_cidr, local[node.name].mtu,
                                               ipmasq=True)
            subnetenv.write(tmp_path / node.name / "subnet.env", env)
            asyncio.run(masq.apply(masq.render(NETWORK, node.pod_cidr),
                                   ("ip", "netns", "exec", node.netns, "nft")))
            added = cni(plugin, "ADD", node, f"sandbox-{node.name}", flannel_conf(tmp_path, node))
            assert added.returncode == 0, added.stdout + added.stderr
            result = json.loads(added.stdout)
            pod_ip[node.name] = result["ips"][0]["address"].split("/")[0]
            checked = cni(plugin, "CHECK", node, f"sandbox-{node.name}",
                          {**flannel_conf(tmp_path, node), "prevResult": result})
            assert checked.returncode == 0, checked.stdout + checked.stderr
            assert pod_ip[node.name].startswith(str(node.pod_cidr.network_address)[:-1])
        assert "mtu 1450" in run("ip", "link", "show", "eth0", netns=a.pod_netns).stdout
        assert "table ip kubeadmpy-flannel" in run("nft", "list", "tables",
                                                   netns=a.netns).stdout

        ping = run("busybox", "ping", "-c", "3", "-W", "2", pod_ip["node-b"], netns=a.pod_netns,
                   check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        back = run("busybox", "ping", "-c", "1", "-W", "2", pod_ip["node-a"], netns=b.pod_netns,
                   check=False)
        assert back.returncode == 0, back.stdout + back.stderr

        for node in (a, b):
            conf = flannel_conf(tmp_path, node)
            deleted = cni(plugin, "DEL", node, f"sandbox-{node.name}", conf)
            assert deleted.returncode == 0, deleted.stdout + deleted.stderr
            assert not (tmp_path / node.name / "flannel" / f"sandbox-{node.name}").exists()
            assert run("ip", "link", "show", "eth0", netns=node.pod_netns,
                       check=False).returncode != 0
            assert pod_ip[node.name] not in [
                p.name for p in (tmp_path / node.name / "networks" / "cbr0").iterdir()]
            # DEL of a sandbox that is already gone succeeds too (runtimes retry it).
            assert cni(plugin, "DEL", node, f"sandbox-{node.name}", conf).returncode == 0

        # node-b is deleted from the cluster: node-a's next reconcile drops its entries.
        asyncio.run(program_peers(a, local["node-a"], nodes[:1]))
        assert "flannel.1" not in run("ip", "route", netns=a.netns).stdout
        assert run("bridge", "fdb", "show", "dev", "flannel.1", netns=a.netns).stdout == ""
        assert run("ip", "neigh", "show", "dev", "flannel.1", netns=a.netns).stdout == ""

        # reset: the device (with whatever it held), the nftables table and subnet.env go.
        subnet_file = tmp_path / "node-a" / "subnet.env"
        removed = asyncio.run(cleanup.remove_node_network(
            subnet_file=str(subnet_file), netns=a.netns,
            nft_command=("ip", "netns", "exec", a.netns, "nft")))
        assert removed == ["device flannel.1", "nftables table ip kubeadmpy-flannel",
                           str(subnet_file)]
        assert run("ip", "link", "show", "flannel.1", netns=a.netns, check=False).returncode
        assert "kubeadmpy-flannel" not in run("nft", "list", "tables", netns=a.netns).stdout
        assert asyncio.run(cleanup.remove_node_network(
            subnet_file=str(subnet_file), netns=a.netns,
            nft_command=("ip", "netns", "exec", a.netns, "nft"))) == []
