"""The VXLAN dataplane as data: what `flannel.<VNI>` must hold for a set of remote nodes.

For each remote node (subnet S, public IP P, VTEP MAC M) upstream's backend programs exactly
three things on the device: a permanent neighbour S.0 → M (so the kernel never ARPs across the
overlay), a bridge FDB entry M → P (so frames for M are encapsulated to P:8472) and the route
`S via S.0 dev flannel.1 onlink`. Computing that set is a pure function of the peers, and
`plan()` compares it with what the kernel reports — so a restart, a missed event or an entry
someone deleted by hand all converge the same way, and entries of nodes that went away are
removed because they are simply not desired any more (level-triggered, not event-driven).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Peer:
    """A remote node's VXLAN endpoint, as its annotations and podCIDR describe it."""

    node: str
    subnet: ipaddress.IPv4Network
    public_ip: ipaddress.IPv4Address
    vtep_mac: str  # lower-case aa:bb:cc:dd:ee:ff


@dataclass(frozen=True, order=True)
class Neighbour:
    address: ipaddress.IPv4Address
    mac: str


@dataclass(frozen=True, order=True)
class FdbEntry:
    mac: str
    destination: ipaddress.IPv4Address


@dataclass(frozen=True, order=True)
class Route:
    destination: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address


@dataclass(frozen=True)
class Entries:
    """Entries on the VXLAN device (desired, or read back from the kernel)."""

    neighbours: frozenset[Neighbour] = frozenset()
    fdb: frozenset[FdbEntry] = frozenset()
    routes: frozenset[Route] = frozenset()

    def __len__(self) -> int:
        return len(self.neighbours) + len(self.fdb) + len(self.routes)


@dataclass(frozen=True)
class Plan:
    """One reconcile step: remove the stale, then add (replace) the missing."""

    remove: Entries = field(default_factory=Entries)
    add: Entries = field(default_factory=Entries)

    @property
    def empty(self) -> bool:
        return not len(self.remove) and not len(self.add)


def desired(peers: Iterable[Peer]) -> Entries:
    """The three entries per peer that upstream's VXLAN backend installs."""
    neighbours, fdb, routes = set(), set(), set()
    for peer in peers:
        gateway = peer.subnet.network_address
        neighbours.add(Neighbour(gateway, peer.vtep_mac))
        fdb.add(FdbEntry(peer.vtep_mac, peer.public_ip))
        routes.add(Route(peer.subnet, gateway))
    return Entries(frozenset(neighbours), frozenset(fdb), frozenset(routes))


def plan(want: Entries, have: Entries) -> Plan:
    """What to remove and what to add so that the device holds exactly `want`.

    A neighbour or FDB entry for the same address/MAC with a different value counts as stale
    plus missing; adds are replaces, so the kernel ends up with the desired value either way.
    """
    return Plan(
        remove=Entries(have.neighbours - want.neighbours, have.fdb - want.fdb,
                       have.routes - want.routes),
        add=Entries(want.neighbours - have.neighbours, want.fdb - have.fdb,
                    want.routes - have.routes),
    )


def device_mtu(uplink_mtu: int, configured: int | None, overhead: int) -> int:
    """Upstream's rule: the backend MTU (default: the uplink's) minus the encapsulation."""
    return (configured or uplink_mtu) - overhead
