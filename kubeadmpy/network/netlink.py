"""The one adapter between the VXLAN dataplane and the kernel (pyroute2 over rtnetlink).

Everything flanneld changes on a node goes through `Kernel`: find the uplink, make sure
`flannel.<VNI>` exists with the right VXLAN parameters (recreated when incompatible, as
upstream does), give it its one /32 address, read back the neighbour/FDB/route entries it holds
and apply a `vxlan.Plan`. pyroute2's `NetlinkError` is translated here into `NetworkError`
messages that name the device and the entry. `netns` opens the connection inside a named network
namespace, which is how tests run two "nodes" on one machine.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import ndmsg

from kubeadmpy.network.errors import NetworkError
from kubeadmpy.network.vxlan import Entries, FdbEntry, Neighbour, Plan, Route

MAIN_TABLE = 254
NUD_PERMANENT = ndmsg.states["permanent"]
NTF_SELF = ndmsg.flags["self"]
RTNH_F_ONLINK = 4
RTPROT_BOOT = 3  # what vishvananda/netlink (upstream) leaves: `ip route` shows no proto
GONE = (errno.ENOENT, errno.ESRCH, errno.ENODEV, errno.EADDRNOTAVAIL)


@dataclass(frozen=True)
class Uplink:
    """The interface VXLAN packets leave through, and the address they come from."""

    index: int
    name: str
    address: ipaddress.IPv4Address
    mtu: int


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    vni: int
    local: ipaddress.IPv4Address
    uplink_index: int
    port: int
    mtu: int
    mac: str | None = None  # reuse an advertised VTEP MAC; None: the kernel picks one


@dataclass(frozen=True)
class Device:
    index: int
    mac: str
    created: bool


class Kernel:
    """An rtnetlink connection (in `netns` when given); use as `async with Kernel() as k`."""

    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns
        self._ipr: Any = None

    async def __aenter__(self) -> Kernel:
        try:
            self._ipr = AsyncIPRoute(netns=self.netns) if self.netns else AsyncIPRoute()
            await self._ipr.__aenter__()
        except (OSError, NetlinkError) as exc:
            where = f"network namespace {self.netns!r}" if self.netns else "this machine"
            raise NetworkError(f"cannot open rtnetlink in {where}: {exc}") from exc
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._ipr.__aexit__(exc_type, exc, tb)

    # --- reading ------------------------------------------------------------------------------

    async def _dump(self, kind: str, **query: Any) -> list[Any]:
        return [msg async for msg in await getattr(self._ipr, kind)("dump", **query)]

    async def link_index(self, name: str) -> int | None:
        found = await self._ipr.link_lookup(ifname=name)
        return int(found[0]) if found else None

    async def _ipv4_addresses(self) -> list[tuple[int, ipaddress.IPv4Interface]]:
        result = []
        for msg in await self._dump("addr", family=socket.AF_INET):
            # IFA_LOCAL is this end's address; IFA_ADDRESS is the peer's on point-to-point links
            address = msg.get("IFA_LOCAL") or msg.get("IFA_ADDRESS")
            result.append((int(msg["index"]),
                           ipaddress.IPv4Interface(f"{address}/{msg['prefixlen']}")))
        return result

    async def _uplink(self, index: int, address: ipaddress.IPv4Address | None) -> Uplink:
        link = (await self._ipr.link("get", index=index))[0]
        name = str(link.get("IFLA_IFNAME"))
        if address is None:
            mine = [a.ip for i, a in await self._ipv4_addresses() if i == index]
            if not mine:
                raise NetworkError(f"interface {name} has no IPv4 address to send VXLAN "
                                   "from; give it one or choose another with --iface")
            address = mine[0]
        return Uplink(index, name, address, int(link.get("IFLA_MTU")))

    async def find_uplink(self, ifaces: tuple[str, ...] = ()) -> Uplink:
        """The first of `ifaces` (names or IPv4 addresses) that exists, else the interface of
        the default route — upstream's order of choice."""
        addresses = await self._ipv4_addresses()
        for iface in ifaces:
            try:
                wanted = ipaddress.IPv4Address(iface)
            except ValueError:
                index = await self.link_index(iface)
                if index is not None:
                    return await self._uplink(index, None)
                continue
            for index, address in addresses:
                if address.ip == wanted:
                    return await self._uplink(index, wanted)
        if ifaces:
            raise NetworkError(f"--iface: none of {', '.join(ifaces)} is an interface name "
                               "or an IPv4 address of this node; check `ip -br addr`")
        for route in await self._dump("route", family=socket.AF_INET, table=MAIN_TABLE):
            if route["dst_len"] == 0 and route.get("RTA_OIF"):
                return await self._uplink(int(route.get("RTA_OIF")), None)
        raise NetworkError("no default route to pick the VXLAN interface from; pass --iface "
                           "with the interface (or its address) that reaches the other nodes")

    # --- the device -----------------------------------------------------------------------------

    async def ensure_device(self, spec: DeviceSpec) -> Device:
        """Create `spec.name` or bring the existing one in line; incompatible means recreate."""
        index = await self.link_index(spec.name)
        created = False
        if index is not None and not await self._compatible(index, spec):
            await self._call(f"delete incompatible {spec.name}", self._ipr.link, "del",
                             index=index)
            index = None
        if index is None:
            extra: dict[str, Any] = {"address": spec.mac} if spec.mac else {}
            await self._call(f"create {spec.name}", self._ipr.link, "add", ifname=spec.name,
                             kind="vxlan", vxlan_id=spec.vni, vxlan_local=str(spec.local),
                             vxlan_link=spec.uplink_index, vxlan_port=spec.port,
                             vxlan_learning=0, mtu=spec.mtu, **extra)
            index = await self.link_index(spec.name)
            if index is None:
                raise NetworkError(f"{spec.name} vanished right after it was created")
            created = True
        link = (await self._ipr.link("get", index=index))[0]
        if int(link.get("IFLA_MTU")) != spec.mtu:
            await self._call(f"set the MTU of {spec.name}", self._ipr.link, "set",
                             index=index, mtu=spec.mtu)
        await self._call(f"set {spec.name} up", self._ipr.link, "set", index=index,
                         state="up")
        return Device(index, str(link.get("IFLA_ADDRESS")).lower(), created)

    async def _compatible(self, index: int, spec: DeviceSpec) -> bool:
        link = (await self._ipr.link("get", index=index))[0]
        info = link.get("IFLA_LINKINFO")
        if info is None or info.get("IFLA_INFO_KIND") != "vxlan":
            return False
        data = info.get("IFLA_INFO_DATA")
        return bool(data is not None
                    and data.get("IFLA_VXLAN_ID") == spec.vni
                    and data.get("IFLA_VXLAN_LOCAL") == str(spec.local)
                    and data.get("IFLA_VXLAN_LINK") == spec.uplink_index
                    and data.get("IFLA_VXLAN_PORT") == spec.port
                    and not data.get("IFLA_VXLAN_LEARNING"))

    async def ensure_address(self, index: int, address: ipaddress.IPv4Interface) -> None:
        """Exactly `address` as the device's IPv4 address (others are removed)."""
        present = [a for i, a in await self._ipv4_addresses() if i == index]
        for other in present:
            if other != address:
                await self._call(f"remove address {other}", self._ipr.addr, "del",
                                 index=index, address=str(other.ip),
                                 prefixlen=other.network.prefixlen)
        if address not in present:
            await self._call(f"add address {address}", self._ipr.addr, "add", index=index,
                             address=str(address.ip), prefixlen=address.network.prefixlen)

    async def delete_link(self, name: str) -> bool:
        index = await self.link_index(name)
        if index is None:
            return False
        await self._call(f"delete {name}", self._ipr.link, "del", index=index)
        return True

    # --- the entries ------------------------------------------------------------------------

    async def read_entries(self, index: int) -> Entries:
        """The permanent neighbours, FDB entries and gateway routes on the device now."""
        neighbours = set()
        for msg in await self._dump("neigh", family=socket.AF_INET, ifindex=index):
            if msg["ifindex"] == index and msg["state"] & NUD_PERMANENT \
                    and msg.get("NDA_LLADDR"):
                neighbours.add(Neighbour(ipaddress.IPv4Address(msg.get("NDA_DST")),
                                         str(msg.get("NDA_LLADDR")).lower()))
        fdb = set()
        for msg in await self._dump("fdb", ifindex=index):
            dst = msg.get("NDA_DST")
            if msg["ifindex"] == index and dst and ":" not in str(dst):
                fdb.add(FdbEntry(str(msg.get("NDA_LLADDR")).lower(),
                                 ipaddress.IPv4Address(dst)))
        routes = set()
        for msg in await self._dump("route", family=socket.AF_INET, table=MAIN_TABLE):
            gateway = msg.get("RTA_GATEWAY")
            if msg.get("RTA_OIF") == index and gateway:
                dst = ipaddress.IPv4Network(f"{msg.get('RTA_DST') or '0.0.0.0'}/"
                                            f"{msg['dst_len']}")
                routes.add(Route(dst, ipaddress.IPv4Address(gateway)))
        return Entries(frozenset(neighbours), frozenset(fdb), frozenset(routes))

    async def apply(self, index: int, plan: Plan) -> None:
        """Remove stale entries (route first), then add missing ones (neighbour, FDB, route —
        the route last, or the kernel would try to ARP for its gateway)."""
        for route in sorted(plan.remove.routes):
            await self._call(f"delete route {route.destination}", self._ipr.route, "del",
                             dst=str(route.destination), gateway=str(route.gateway),
                             oif=index, missing_ok=True)
        for entry in sorted(plan.remove.fdb):
            await self._call(f"delete FDB entry {entry.mac}", self._ipr.fdb, "del",
                             ifindex=index, lladdr=entry.mac, dst=str(entry.destination),
                             missing_ok=True)
        for neighbour in sorted(plan.remove.neighbours):
            await self._call(f"delete neighbour {neighbour.address}", self._ipr.neigh, "del",
                             ifindex=index, dst=str(neighbour.address), missing_ok=True)
        for neighbour in sorted(plan.add.neighbours):
            await self._call(f"add neighbour {neighbour.address} → {neighbour.mac}",
                             self._ipr.neigh, "replace", ifindex=index,
                             dst=str(neighbour.address), lladdr=neighbour.mac,
                             state=NUD_PERMANENT)
        for entry in sorted(plan.add.fdb):
            await self._call(f"add FDB entry {entry.mac} → {entry.destination}",
                             self._ipr.fdb, "replace", ifindex=index, lladdr=entry.mac,
                             dst=str(entry.destination), state=NUD_PERMANENT, flags=NTF_SELF)
        for route in sorted(plan.add.routes):
            await self._call(f"add route {route.destination} via {route.gateway}",
                             self._ipr.route, "replace", dst=str(route.destination),
                             gateway=str(route.gateway), oif=index, flags=RTNH_F_ONLINK,
                             proto=RTPROT_BOOT)

    async def _call(self, what: str, func: Any, *args: Any, missing_ok: bool = False,
                    **kwargs: Any) -> None:
        try:
            await func(*args, **kwargs)
        except NetlinkError as exc:
            if missing_ok and exc.code in GONE:
                return
            where = f" in network namespace {self.netns}" if self.netns else ""
            raise NetworkError(f"cannot {what}{where}: {exc.args[-1] if exc.args else exc} "
                               f"(errno {exc.code})") from exc
