"""Jinja filters the playbooks use to check inventory variables before anything changes.

Ansible core has no CIDR test (ansible.utils' `ipaddr` needs a collection and netaddr, neither of
which we install), and a subnet checked in Jinja string operations would accept `10.0.0.300/8`.
Python's `ipaddress` is the judge kubeadmpy itself uses, so a subnet the playbook accepts is one
`kubeadmpy init --config` accepts too. Each filter returns a problem sentence, or "" when fine,
so the calling task can put it in a message that names the variable.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any


def cidr_problem(value: Any) -> str:
    """Why `value` is not an IPv4 network in CIDR form without host bits, or ""."""
    text = str(value).strip()
    if "/" not in text:
        return f"{text!r} is not in CIDR form (address/prefix, e.g. 10.233.64.0/18)"
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        return f"{text!r} is not a network: {exc}"
    if network.version != 4:
        return f"{text!r} is IPv6; the playbooks set up IPv4 clusters only"
    if str(network) != text:
        return f"{text!r} has host bits set; the network is {network}"
    return ""


def cidr_overlap(first: Any, second: Any) -> bool:
    """Whether two valid CIDRs share addresses (False when either is invalid)."""
    if cidr_problem(first) or cidr_problem(second):
        return False
    return ipaddress.ip_network(str(first)).overlaps(ipaddress.ip_network(str(second)))


def addresses_in_cidr(addresses: Iterable[Any], cidr: Any) -> list[str]:
    """The node addresses that fall inside `cidr` (they would clash with pod/service IPs)."""
    if cidr_problem(cidr):
        return []
    network = ipaddress.ip_network(str(cidr))
    inside = []
    for address in addresses:
        try:
            if ipaddress.ip_address(str(address)) in network:
                inside.append(str(address))
        except ValueError:
            continue  # not an IP (a DNS name): nothing to compare
    return inside


class FilterModule:
    """Ansible's entry point for filter plugins."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"kubeadmpy_cidr_problem": cidr_problem,
                "kubeadmpy_cidr_overlap": cidr_overlap,
                "kubeadmpy_addresses_in_cidr": addresses_in_cidr}
