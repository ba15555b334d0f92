"""The lab's address plan and names: the ONE place that says which range lab machines use.

Every lab machine lives in `LAB_RANGE` (10.213.0.0/16, chosen to be unlikely to collide with
home, office or cloud networks). Each lab gets one /24 of it, numbered by its *index*: lab k
owns 10.213.k.0/24, its bridge (the host end) has 10.213.k.1, and its machines get
10.213.k.11, .12, ... in order. 10.213.255.0/24 is kept out of the plan for tests that probe
the seal from a namespace outside every lab.

Everything the lab creates on the host carries a recognisable name, so cleanup finds leftovers
even without a manifest: network namespaces ``kubeadmpy-lab.<lab>.<machine>``, the bridge
``kplab<k>``, host ends of veth pairs ``kplab<k>-<n>`` (interface names are limited to 15
characters), and each link's alias ``kubeadmpy-lab:<lab>``.
"""

from __future__ import annotations

import ipaddress
import re

from kubeadmpy.errors import UserInputError

LAB_RANGE = ipaddress.IPv4Network("10.213.0.0/16")
LAB_PREFIX_LENGTH = 24
FIRST_LAB_INDEX = 1
LAST_LAB_INDEX = 250
SEAL_PROBE_SUBNET = ipaddress.IPv4Network("10.213.255.0/24")
FIRST_MACHINE_HOST_NUMBER = 11
MAX_MACHINES = 200

NETNS_PREFIX = "kubeadmpy-lab."
LINK_PREFIX = "kplab"
LINK_ALIAS_PREFIX = "kubeadmpy-lab:"
MACHINE_INTERFACE = "eth0"

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$")


def validate_name(field: str, value: str) -> str:
    """Lab and machine names end up in hostnames, netns names and paths: keep them DNS labels."""
    if not _NAME.match(value):
        raise UserInputError(field, f"{value!r} is not a valid name",
                             "Use 1-24 lowercase letters, digits or '-', starting and ending "
                             "with a letter or digit")
    return value


def lab_subnet(index: int) -> ipaddress.IPv4Network:
    """The /24 owned by lab number `index`."""
    if not FIRST_LAB_INDEX <= index <= LAST_LAB_INDEX:
        raise ValueError(f"lab index {index} outside {FIRST_LAB_INDEX}..{LAST_LAB_INDEX}")
    return list(LAB_RANGE.subnets(new_prefix=LAB_PREFIX_LENGTH))[index]


def gateway_address(index: int) -> ipaddress.IPv4Address:
    """The host's address on the lab bridge: the first address of the lab's subnet."""
    return lab_subnet(index).network_address + 1


def machine_address(index: int, position: int) -> ipaddress.IPv4Address:
    """Address of the `position`-th (0-based) machine of lab `index`."""
    if not 0 <= position < MAX_MACHINES:
        raise ValueError(f"machine position {position} outside 0..{MAX_MACHINES - 1}")
    return lab_subnet(index).network_address + FIRST_MACHINE_HOST_NUMBER + position


def bridge_name(index: int) -> str:
    return f"{LINK_PREFIX}{index}"


def veth_name(index: int, position: int) -> str:
    return f"{LINK_PREFIX}{index}-{position + 1}"


def netns_name(lab: str, machine: str) -> str:
    return f"{NETNS_PREFIX}{lab}.{machine}"


def link_alias(lab: str) -> str:
    return f"{LINK_ALIAS_PREFIX}{lab}"


def lab_of_netns(name: str) -> str | None:
    """The lab a namespace name belongs to, or None if the lab did not make it."""
    if not name.startswith(NETNS_PREFIX):
        return None
    rest = name[len(NETNS_PREFIX):]
    return rest.split(".", 1)[0] if "." in rest else None


def lab_of_alias(alias: str | None) -> str | None:
    if alias and alias.startswith(LINK_ALIAS_PREFIX):
        return alias[len(LINK_ALIAS_PREFIX):]
    return None
