"""From Node objects to the VXLAN entries: annotations, peers, the desired set and the plan."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from kubeadmpy.network import node_annotations as na
from kubeadmpy.network import vxlan

MAC_B, MAC_C = "aa:bb:cc:00:00:0b", "aa:bb:cc:00:00:0c"


def node(name: str, cidr: str | None, annotations: dict[str, str] | None = None
         ) -> dict[str, Any]:
    spec = {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {}
    return {"metadata": {"name": name, "annotations": annotations or {}}, "spec": spec}


def flannel(mac: str, ip: str, **extra: str) -> dict[str, str]:
    return {**na.own_annotations(1, mac, ipaddress.IPv4Address(ip)), **extra}


def peer(name: str, cidr: str, ip: str, mac: str) -> vxlan.Peer:
    return vxlan.Peer(name, ipaddress.IPv4Network(cidr), ipaddress.IPv4Address(ip), mac)


def test_own_annotations_are_upstreams_keys_and_compact_backend_data() -> None:
    assert na.own_annotations(1, MAC_B, ipaddress.IPv4Address("192.0.2.2")) == {
        "flannel.alpha.coreos.com/backend-data": '{"VNI":1,"VtepMAC":"aa:bb:cc:00:00:0b"}',
        "flannel.alpha.coreos.com/backend-type": "vxlan",
        "flannel.alpha.coreos.com/kube-subnet-manager": "true",
        "flannel.alpha.coreos.com/public-ip": "192.0.2.2",
    }


def test_the_patch_sets_only_annotations_that_differ() -> None:
    wanted = flannel(MAC_B, "192.0.2.2")
    same = node("b", "10.244.2.0/24", {**wanted, "other": "kept"})
    assert na.annotation_patch(same, wanted) is None
    moved = node("b", "10.244.2.0/24", flannel(MAC_B, "192.0.2.9"))
    assert na.annotation_patch(moved, wanted) == {"metadata": {"annotations": {
        na.PUBLIC_IP: "192.0.2.2"}}}


def test_a_restarted_node_reuses_the_vtep_mac_it_advertised() -> None:
    assert na.advertised_vtep_mac(node("b", None, flannel(MAC_B.upper(), "192.0.2.2"))) == MAC_B
    assert na.advertised_vtep_mac(node("b", None, {na.BACKEND_DATA: "{"})) is None
    assert na.advertised_vtep_mac(node("b", None)) is None


def test_every_other_flannel_node_is_a_peer_and_broken_ones_say_why() -> None:
    nodes = [
        node("a", "10.244.1.0/24", flannel("aa:bb:cc:00:00:0a", "192.0.2.1")),
        node("c", "10.244.3.0/24", flannel(MAC_C, "192.0.2.3")),
        node("b", "10.244.2.0/24", {na.BACKEND_TYPE: "vxlan", na.KUBE_SUBNET_MANAGER: "true",
                                    na.BACKEND_DATA: '{"vni":1,"vtepmac":"AA:BB:CC:00:00:0B"}',
                                    na.PUBLIC_IP: "192.0.2.2"}),
        node("plain", "10.244.4.0/24"),
        node("host-gw", "10.244.5.0/24", flannel(MAC_B, "192.0.2.5", **{
            na.BACKEND_TYPE: "host-gw"})),
        node("no-cidr", None, flannel(MAC_B, "192.0.2.6")),
        node("bad-json", "10.244.7.0/24", flannel(MAC_B, "192.0.2.7", **{
            na.BACKEND_DATA: "not json"})),
        node("bad-mac", "10.244.8.0/24", flannel("zz", "192.0.2.8")),
        node("other-vni", "10.244.9.0/24", flannel(MAC_B, "192.0.2.9", **{
            na.BACKEND_DATA: json.dumps({"VNI": 2, "VtepMAC": MAC_B})})),
        node("bad-ip", "10.244.10.0/24", flannel(MAC_B, "192.0.2.10", **{
            na.PUBLIC_IP: "somewhere"})),
    ]
    peers, skipped = na.peers(nodes, "a", vni=1)
    assert peers == [peer("b", "10.244.2.0/24", "192.0.2.2", MAC_B),
                     peer("c", "10.244.3.0/24", "192.0.2.3", MAC_C)]
    assert {s.node: s.reason for s in skipped} == {
        "no-cidr": "it has no IPv4 podCIDR",
        "bad-json": f"{na.BACKEND_DATA} is not JSON",
        "bad-mac": f"{na.BACKEND_DATA} has no usable VtepMAC ('zz')",
        "other-vni": "it uses VNI 2, this node 1",
        "bad-ip": f"{na.PUBLIC_IP} 'somewhere' is not an IPv4 address",
    }


def test_a_podcidr_another_node_already_has_is_skipped_so_entries_do_not_flap() -> None:
    """Two peers on one subnet would want two neighbours for one gateway (the kernel keeps
    one, so every resync replaced it); a peer on this node's own subnet would route local
    pods into the overlay. The first claim (this node, then by name) wins."""
    nodes = [node("a", "10.244.1.0/24", flannel("aa:bb:cc:00:00:0a", "192.0.2.1")),
             node("c", "10.244.2.0/24", flannel(MAC_C, "192.0.2.3")),
             node("b", "10.244.2.0/24", flannel(MAC_B, "192.0.2.2")),
             node("d", "10.244.1.0/25", flannel("aa:bb:cc:00:00:0d", "192.0.2.4"))]
    peers, skipped = na.peers(nodes, "a", vni=1)
    assert peers == [peer("b", "10.244.2.0/24", "192.0.2.2", MAC_B)]
    assert {s.node: s.reason for s in skipped} == {
        "c": "its podCIDR 10.244.2.0/24 overlaps Node b's 10.244.2.0/24",
        "d": "its podCIDR 10.244.1.0/25 overlaps Node a's 10.244.1.0/24"}
    want = vxlan.desired(peers)
    assert len(want.neighbours) == len(want.fdb) == len(want.routes) == 1


def test_a_dual_stack_node_uses_its_ipv4_pod_cidr() -> None:
    dual = {"metadata": {"name": "d"}, "spec": {"podCIDRs": ["fd00:1::/64", "10.244.4.0/24"]}}
    assert na.pod_cidr(dual) == ipaddress.IPv4Network("10.244.4.0/24")


def test_each_peer_wants_one_neighbour_one_fdb_entry_and_one_onlink_route() -> None:
    want = vxlan.desired([peer("b", "10.244.2.0/24", "192.0.2.2", MAC_B)])
    assert want == vxlan.Entries(
        frozenset({vxlan.Neighbour(ipaddress.IPv4Address("10.244.2.0"), MAC_B)}),
        frozenset({vxlan.FdbEntry(MAC_B, ipaddress.IPv4Address("192.0.2.2"))}),
        frozenset({vxlan.Route(ipaddress.IPv4Network("10.244.2.0/24"),
                               ipaddress.IPv4Address("10.244.2.0"))}))


def test_the_plan_removes_nodes_that_went_away_and_adds_new_ones() -> None:
    b, c = peer("b", "10.244.2.0/24", "192.0.2.2", MAC_B), peer("c", "10.244.3.0/24",
                                                                "192.0.2.3", MAC_C)
    step = vxlan.plan(vxlan.desired([c]), vxlan.desired([b]))
    assert step.remove == vxlan.desired([b]) and step.add == vxlan.desired([c])
    assert vxlan.plan(vxlan.desired([b, c]), vxlan.desired([c, b])).empty


def test_a_node_that_moved_gets_its_fdb_entry_replaced() -> None:
    old = peer("b", "10.244.2.0/24", "192.0.2.2", MAC_B)
    new = peer("b", "10.244.2.0/24", "192.0.2.20", MAC_B)
    step = vxlan.plan(vxlan.desired([new]), vxlan.desired([old]))
    assert step.remove == vxlan.Entries(fdb=frozenset({vxlan.FdbEntry(
        MAC_B, ipaddress.IPv4Address("192.0.2.2"))}))
    assert step.add == vxlan.Entries(fdb=frozenset({vxlan.FdbEntry(
        MAC_B, ipaddress.IPv4Address("192.0.2.20"))}))


def test_the_device_mtu_is_the_uplinks_minus_the_vxlan_overhead() -> None:
    assert vxlan.device_mtu(1500, None, 50) == 1450
    assert vxlan.device_mtu(1500, 9000, 50) == 8950
