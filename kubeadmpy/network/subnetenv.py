"""/run/flannel/subnet.env: the contract between flanneld and the `flannel` CNI plugin.

flanneld writes it once it knows this node's subnet; the CNI plugin reads it on every pod ADD to
configure the bridge and host-local IPAM. Keys and meanings are upstream's, so upstream's CNI
plugin could read our file and ours could read upstream's: FLANNEL_NETWORK (the whole pod
network), FLANNEL_SUBNET (this node's subnet written with its first host address, the bridge's
gateway: podCIDR 10.244.1.0/24 → 10.244.1.1/24), FLANNEL_MTU (uplink − 50 for VXLAN) and
FLANNEL_IPMASQ (whether flanneld masquerades, so the bridge must not).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from kubeadmpy.errors import ConfigError
from kubeadmpy.files import write_file

DEFAULT_PATH = "/run/flannel/subnet.env"
KEYS = ("FLANNEL_NETWORK", "FLANNEL_SUBNET", "FLANNEL_MTU", "FLANNEL_IPMASQ")


@dataclass(frozen=True)
class SubnetEnv:
    network: ipaddress.IPv4Network
    subnet: ipaddress.IPv4Interface  # gateway address with the node subnet's prefix
    mtu: int
    ipmasq: bool

    @classmethod
    def for_node(cls, network: ipaddress.IPv4Network, pod_cidr: ipaddress.IPv4Network,
                 mtu: int, ipmasq: bool) -> SubnetEnv:
        gateway = ipaddress.IPv4Interface(f"{pod_cidr.network_address + 1}/{pod_cidr.prefixlen}")
        return cls(network, gateway, mtu, ipmasq)


def render(env: SubnetEnv) -> str:
    return (f"FLANNEL_NETWORK={env.network}\n"
            f"FLANNEL_SUBNET={env.subnet}\n"
            f"FLANNEL_MTU={env.mtu}\n"
            f"FLANNEL_IPMASQ={'true' if env.ipmasq else 'false'}\n")


def write(path: Path, env: SubnetEnv) -> bool:
    """Write the file (atomically, 0644) unless it already says the same; whether it changed."""
    text = render(env)
    try:
        if path.read_text() == text:
            return False
    except OSError:
        pass
    write_file(path, text, mode=0o644, dir_mode=0o755)
    return True


def parse(text: str, source: str = DEFAULT_PATH) -> SubnetEnv:
    """Read the file's KEY=VALUE lines; a missing or malformed key is a ConfigError naming it."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"line {number}", f"{line!r} is not KEY=VALUE",
                              "Let flanneld rewrite the file", source=source)
        values[key.strip()] = value.strip()
    missing = [key for key in KEYS if key not in values]
    if missing:
        raise ConfigError(missing[0], "is missing", "Is flanneld running on this node? It "
                          "writes the file once the node has a podCIDR", source=source)
    try:
        network = ipaddress.IPv4Network(values["FLANNEL_NETWORK"])
    except ValueError as exc:
        raise ConfigError("FLANNEL_NETWORK", f"{values['FLANNEL_NETWORK']!r} is not an IPv4 "
                          "network", "Let flanneld rewrite the file", source=source) from exc
    try:
        subnet = ipaddress.IPv4Interface(values["FLANNEL_SUBNET"])
    except ValueError as exc:
        raise ConfigError("FLANNEL_SUBNET", f"{values['FLANNEL_SUBNET']!r} is not an IPv4 "
                          "address/prefix", "Let flanneld rewrite the file",
                          source=source) from exc
    if not values["FLANNEL_MTU"].isdigit():
        raise ConfigError("FLANNEL_MTU", f"{values['FLANNEL_MTU']!r} is not a number",
                          "Let flanneld rewrite the file", source=source)
    ipmasq = values["FLANNEL_IPMASQ"].lower()
    if ipmasq not in ("true", "false"):
        raise ConfigError("FLANNEL_IPMASQ", f"{values['FLANNEL_IPMASQ']!r} is not true or "
                          "false", "Let flanneld rewrite the file", source=source)
    return SubnetEnv(network, subnet, int(values["FLANNEL_MTU"]), ipmasq == "true")
