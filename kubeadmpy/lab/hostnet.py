"""Host-side plumbing of a lab: bridge, veth pairs, named network namespaces, and the seal.

All of it goes through iproute2 and nft in batch mode (a handful of processes for a whole lab),
and every object is named per `kubeadmpy.lab.network`, so `find_leftovers` can list what a lab
left behind from the kernel's own state, without any manifest.

The seal: lab machines get a default route via the host's bridge address (components pick their
node IP from it), so the host drops everything forwarded between the lab bridge and any other
interface, and everything the lab sends to host addresses other than its gateway. The rules live
in an nftables table owned by the lab (``inet kubeadmpy-lab-<lab>``), which `down` deletes whole.
The lab never adds masquerading.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kubeadmpy.lab import network
from kubeadmpy.lab.errors import LabError

NETNS_DIR = Path("/run/netns")
SEAL_TABLE_PREFIX = "kubeadmpy-lab-"


def run_tool(args: Sequence[str], stdin: str | None = None, check: bool = True) -> str:
    """Run an iproute2/nft command; failures become a `LabError` quoting the tool's message."""
    try:
        done = subprocess.run(list(args), input=stdin, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise LabError(f"{args[0]} is not installed; run scripts/setup.sh") from exc
    if check and done.returncode != 0:
        raise LabError(f"`{' '.join(args)}` failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


@dataclass(frozen=True)
class MachineLink:
    """What the host needs to wire one machine: its namespace, host-side link and address."""

    netns: str
    veth: str
    ip: ipaddress.IPv4Address


def create_bridge_and_links(lab: str, index: int, links: Sequence[MachineLink]) -> None:
    """Make the lab bridge with its gateway address, and one namespace + veth per machine."""
    bridge = network.bridge_name(index)
    alias = network.link_alias(lab)
    gateway = network.gateway_address(index)
    prefix = network.LAB_PREFIX_LENGTH
    lines = [
        f"link add {bridge} type bridge",
        f"link set {bridge} alias {alias}",
        f"addr add {gateway}/{prefix} dev {bridge}",
        f"link set {bridge} up",
    ]
    for link in links:
        lines += [
            f"netns add {link.netns}",
            f"link add {link.veth} type veth peer name {network.MACHINE_INTERFACE} netns {link.netns}",
            f"link set {link.veth} master {bridge} alias {alias} up",
        ]
    run_tool(["ip", "-batch", "-"], "\n".join(lines) + "\n")
    for link in links:
        run_tool(["ip", "-n", link.netns, "-batch", "-"], "\n".join([
            f"addr add {link.ip}/{prefix} dev {network.MACHINE_INTERFACE}",
            f"link set {network.MACHINE_INTERFACE} up",
            "link set lo up",
            f"route add default via {gateway}",
        ]) + "\n")


def seal_table(lab: str) -> str:
    return f"{SEAL_TABLE_PREFIX}{lab}"


def add_seal(lab: str, index: int) -> None:
    """Install the lab's nftables table that keeps its traffic inside the lab."""
    bridge = network.bridge_name(index)
    tag = f"kubeadmpy-lab:{lab} seal"
    run_tool(["nft", "-f", "-"], f"""
table inet {seal_table(lab)} {{
  comment "kubeadmpy lab {lab}: nothing leaves the lab"
  chain forward {{
    type filter hook forward priority filter - 10; policy accept;
    iifname "{bridge}" oifname != "{bridge}" drop comment "{tag}"
    oifname "{bridge}" iifname != "{bridge}" drop comment "{tag}"
  }}
  chain input {{
    type filter hook input priority filter - 10; policy accept;
    iifname "{bridge}" meta nfproto ipv4 ip daddr != {network.gateway_address(index)} drop comment "{tag}"
  }}
}}
""")


def list_netns() -> list[str]:
    try:
        return sorted(entry.name for entry in NETNS_DIR.iterdir())
    except FileNotFoundError:
        return []


@dataclass(frozen=True)
class HostLink:
    name: str
    alias: str | None


def list_lab_links() -> list[HostLink]:
    """Every link on the host whose name carries the lab prefix (bridges and veth host ends)."""
    data = json.loads(run_tool(["ip", "-j", "link", "show"]) or "[]")
    return [HostLink(item["ifname"], item.get("ifalias")) for item in data
            if item["ifname"].startswith(network.LINK_PREFIX)]


def list_seal_tables() -> list[str]:
    data = json.loads(run_tool(["nft", "-j", "list", "tables"]) or "{}")
    return sorted(entry["table"]["name"] for entry in data.get("nftables", [])
                  if "table" in entry and entry["table"]["family"] == "inet"
                  and entry["table"]["name"].startswith(SEAL_TABLE_PREFIX))


def used_lab_indexes() -> set[int]:
    """Indexes taken by lab bridges present on the host."""
    used: set[int] = set()
    for link in list_lab_links():
        suffix = link.name[len(network.LINK_PREFIX):]
        if suffix.isdigit():
            used.add(int(suffix))
    return used


def routed_networks() -> list[ipaddress.IPv4Network]:
    """Destinations of the host's IPv4 routes, so a lab never takes a range already in use."""
    data = json.loads(run_tool(["ip", "-j", "-4", "route", "show", "table", "all"]) or "[]")
    found: list[ipaddress.IPv4Network] = []
    for route in data:
        dst = route.get("dst", "")
        if dst and dst != "default" and route.get("type", "unicast") == "unicast":
            try:
                found.append(ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False))
            except ValueError:
                continue
    return found


def netns_inode(name: str) -> tuple[int, int] | None:
    """(device, inode) identifying the namespace behind /run/netns/NAME, as /proc/PID/ns/net shows."""
    try:
        st = os.stat(NETNS_DIR / name)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def delete_netns(name: str) -> None:
    run_tool(["ip", "netns", "delete", name], check=False)


def delete_links(names: Sequence[str]) -> None:
    """Delete links (veth host ends before bridges); missing ones are ignored."""
    if names:
        run_tool(["ip", "-force", "-batch", "-"], "".join(f"link del {n}\n" for n in names),
                 check=False)


def delete_seal(table: str) -> None:
    run_tool(["nft", "delete", "table", "inet", table], check=False)
