"""Network facts the config needs: CIDR lists, derived service IPs, host:port, and this node's
default-route address.

The advertise address default is the IPv4 address of the interface that holds the default route,
as kubeadm picks it. We read /proc/net/route and ask the kernel for that interface's address with
an ioctl on an unconnected local socket: nothing is ever sent, so this is safe in sealed labs.
"""

from __future__ import annotations

import fcntl
import ipaddress
import re
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"^{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*$")
_SIOCGIFADDR = 0x8915
_SIOCGIFFLAGS = 0x8913
_IFF_UP = 0x1
_IFF_LOOPBACK = 0x8


def is_dns1123_subdomain(value: str) -> bool:
    """Lower-case alphanumerics, '-' and '.', at most 253 characters (Kubernetes object names)."""
    return len(value) <= 253 and all(len(part) <= 63 for part in value.split(".")) and bool(
        _DNS1123_SUBDOMAIN.match(value)
    )


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def parse_cidrs(value: str) -> list[IPNetwork]:
    """Parse "10.244.0.0/16" or a dual-stack "10.244.0.0/16,fd00::/56"; ValueError names the bad one."""
    networks = []
    for part in value.split(","):
        text = part.strip()
        try:
            networks.append(ipaddress.ip_network(text, strict=True))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a CIDR ({exc})") from exc
    return networks


def service_ip(subnet: str, index: int) -> IPAddress:
    """The `index`-th address of the first service subnet: 1 → the `kubernetes` Service, 10 → DNS."""
    network = parse_cidrs(subnet)[0]
    if index >= network.num_addresses:
        raise ValueError(f"service subnet {network} has no address with index {index}")
    return network[index]


def split_host_port(value: str) -> tuple[str, int | None]:
    """Split "host", "host:6443", "[::1]:6443" or a bare IPv6 address; ValueError if malformed."""
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{value!r} is not host[:port]")
        return host, _port(rest[1:]) if rest else None
    if value.count(":") > 1:  # a bare IPv6 address has no port
        return value, None
    host, sep, port = value.partition(":")
    return host, _port(port) if sep else None


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"port {text!r} is not a number from 1 to 65535")
    return int(text)


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def default_route_interface(route_table: str) -> str | None:
    """The interface of the IPv4 default route in /proc/net/route text (lowest metric wins)."""
    best: tuple[int, str] | None = None
    for line in route_table.splitlines()[1:]:
        columns = line.split()
        if len(columns) < 8:
            continue
        iface, destination, mask, metric = columns[0], columns[1], columns[7], columns[6]
        if destination == "00000000" and mask == "00000000":
            candidate = (int(metric), iface)
            best = candidate if best is None or candidate < best else best
    return best[1] if best else None


def interface_ipv4(name: str) -> str | None:
    """The primary IPv4 address of interface `name`, or None if it has none."""
    request = struct.pack("256s", name.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            reply = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)
        except OSError:
            return None
    return socket.inet_ntoa(reply[20:24])


def _interface_is_up_non_loopback(name: str) -> bool:
    request = struct.pack("256s", name.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            reply = fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, request)
        except OSError:
            return False
    flags: int = struct.unpack_from("H", reply, 16)[0]
    return bool(flags & _IFF_UP) and not flags & _IFF_LOOPBACK


@dataclass(frozen=True)
class NodeFacts:
    """What defaulting needs to know about this machine."""

    hostname: str
    advertise_address: str | None  # None: no usable IPv4 address was found
    advertise_note: str = ""  # set when the address is a fallback, to be shown as a warning


def detect_node_facts(route_file: Path = Path("/proc/net/route")) -> NodeFacts:
    """Hostname and advertise address of this machine (default-route interface, else any up one)."""
    hostname = socket.gethostname()
    try:
        iface = default_route_interface(route_file.read_text())
    except OSError:
        iface = None
    if iface is not None:
        address = interface_ipv4(iface)
        if address is not None:
            return NodeFacts(hostname, address)
    for _, name in socket.if_nameindex():
        if _interface_is_up_non_loopback(name):
            address = interface_ipv4(name)
            if address is not None:
                note = (f"no IPv4 default route found; using {address} of interface {name} "
                        "as the advertise address. Set localAPIEndpoint.advertiseAddress "
                        "(--apiserver-advertise-address) to choose it yourself")
                return NodeFacts(hostname, address, note)
    return NodeFacts(hostname, None)
