"""The Node annotations through which flanneld nodes find each other (kube subnet manager).

Each flanneld writes its VXLAN endpoint into its own Node under upstream's keys, so nodes
running upstream flanneld and nodes running ours form one overlay:
`flannel.alpha.coreos.com/backend-type: vxlan`, `backend-data: {"VNI":1,"VtepMAC":"…"}`,
`public-ip: <underlay address>` and `kube-subnet-manager: "true"` (nodes without it are not
peers). Every other node with these annotations and a podCIDR becomes a `vxlan.Peer`; a node
whose annotations cannot be read is skipped with a reason instead of breaking the rest.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubeadmpy.network.vxlan import Peer

PREFIX = "flannel.alpha.coreos.com/"
BACKEND_TYPE = PREFIX + "backend-type"
BACKEND_DATA = PREFIX + "backend-data"
PUBLIC_IP = PREFIX + "public-ip"
KUBE_SUBNET_MANAGER = PREFIX + "kube-subnet-manager"
BACKEND = "vxlan"
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

JSONObject = dict[str, Any]


@dataclass(frozen=True)
class Skipped:
    """A node that carries flannel annotations but cannot be a peer, and why."""

    node: str
    reason: str


def own_annotations(vni: int, vtep_mac: str, public_ip: ipaddress.IPv4Address) -> dict[str, str]:
    """What this node advertises (backend-data in Go's compact JSON, as upstream writes it)."""
    data = json.dumps({"VNI": vni, "VtepMAC": vtep_mac}, separators=(",", ":"))
    return {BACKEND_DATA: data, BACKEND_TYPE: BACKEND, KUBE_SUBNET_MANAGER: "true",
            PUBLIC_IP: str(public_ip)}


def _annotations(node: JSONObject) -> dict[str, str]:
    meta = node.get("metadata") or {}
    return dict(meta.get("annotations") or {})


def annotation_patch(node: JSONObject, wanted: dict[str, str]) -> JSONObject | None:
    """A strategic-merge patch setting the annotations that differ, or None if all match."""
    have = _annotations(node)
    changed = {key: value for key, value in wanted.items() if have.get(key) != value}
    return {"metadata": {"annotations": changed}} if changed else None


def advertised_vtep_mac(node: JSONObject) -> str | None:
    """The VtepMAC this node advertised before (reused on restart so peers stay valid)."""
    try:
        data = json.loads(_annotations(node).get(BACKEND_DATA, ""))
    except ValueError:
        return None
    mac = _field(data, "VtepMAC") if isinstance(data, dict) else None
    return mac.lower() if isinstance(mac, str) and MAC.match(mac.lower()) else None


def pod_cidr(node: JSONObject) -> ipaddress.IPv4Network | None:
    """The node's IPv4 podCIDR (spec.podCIDR, else the first IPv4 entry of podCIDRs)."""
    spec = node.get("spec") or {}
    for cidr in [spec.get("podCIDR"), *(spec.get("podCIDRs") or [])]:
        try:
            network = ipaddress.ip_network(str(cidr)) if cidr else None
        except ValueError:
            continue
        if isinstance(network, ipaddress.IPv4Network):
            return network
    return None


def _field(data: JSONObject, name: str) -> Any:
    """Go's encoding/json matches keys ignoring case; so do we."""
    for key, value in data.items():
        if str(key).lower() == name.lower():
            return value
    return None


def peer_from_node(node: JSONObject, vni: int) -> Peer | Skipped | None:
    """The node as a peer; `Skipped` when its flannel annotations are unusable; None when it
    is not a flannel node at all (no kube-subnet-manager annotation, or another backend)."""
    name = str((node.get("metadata") or {}).get("name") or "")
    have = _annotations(node)
    if have.get(KUBE_SUBNET_MANAGER) != "true" or have.get(BACKEND_TYPE) != BACKEND:
        return None
    try:
        data = json.loads(have.get(BACKEND_DATA, ""))
    except ValueError:
        return Skipped(name, f"{BACKEND_DATA} is not JSON")
    if not isinstance(data, dict):
        return Skipped(name, f"{BACKEND_DATA} is not a JSON object")
    mac = str(_field(data, "VtepMAC") or "").lower()
    if not MAC.match(mac):
        return Skipped(name, f"{BACKEND_DATA} has no usable VtepMAC ({mac!r})")
    their_vni = _field(data, "VNI")
    if their_vni is not None and their_vni != vni:
        return Skipped(name, f"it uses VNI {their_vni}, this node {vni}")
    try:
        public_ip = ipaddress.IPv4Address(have.get(PUBLIC_IP, ""))
    except ValueError:
        return Skipped(name, f"{PUBLIC_IP} {have.get(PUBLIC_IP)!r} is not an IPv4 address")
    subnet = pod_cidr(node)
    if subnet is None:
        return Skipped(name, "it has no IPv4 podCIDR")
    return Peer(name, subnet, public_ip, mac)


def peers(nodes: Iterable[JSONObject], own_name: str, vni: int
          ) -> tuple[list[Peer], list[Skipped]]:
    """Every other flannel node as a peer (sorted), and the ones skipped with their reason."""
    candidates: list[Peer] = []
    skipped: list[Skipped] = []
    claimed: list[tuple[str, ipaddress.IPv4Network]] = []  # this node's subnet first
    for node in nodes:
        if (node.get("metadata") or {}).get("name") == own_name:
            if (own := pod_cidr(node)) is not None:
                claimed.append((own_name, own))
            continue
        result = peer_from_node(node, vni)
        if isinstance(result, Peer):
            candidates.append(result)
        elif isinstance(result, Skipped):
            skipped.append(result)
    # Node IPAM never hands one subnet out twice, but a podCIDR set by hand can: one peer per
    # subnet (the first by name), or the entries would change on every resync.
    found: list[Peer] = []
    for candidate in sorted(candidates):
        owner = next(((name, net) for name, net in claimed if net.overlaps(candidate.subnet)),
                     None)
        if owner is not None:
            skipped.append(Skipped(candidate.node, f"its podCIDR {candidate.subnet} overlaps "
                                                   f"Node {owner[0]}'s {owner[1]}"))
            continue
        claimed.append((candidate.node, candidate.subnet))
        found.append(candidate)
    return found, skipped
