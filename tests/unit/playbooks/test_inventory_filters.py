"""The playbooks' CIDR filters: what preflight accepts is what `kubeadmpy init` accepts."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

PLUGIN = Path(__file__).resolve().parents[3] / "playbooks" / "filter_plugins" / \
    "kubeadmpy_inventory.py"


def load_plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kubeadmpy_inventory_filters", PLUGIN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


filters = load_plugin()


@pytest.mark.parametrize("value, problem", [
    ("10.233.64.0/18", ""),
    ("10.233.64.1/18", "'10.233.64.1/18' has host bits set; the network is 10.233.64.0/18"),
    ("10.233.64.0", "'10.233.64.0' is not in CIDR form (address/prefix, e.g. 10.233.64.0/18)"),
    ("10.0.0.300/8", "'10.0.0.300/8' is not a network: '10.0.0.300/8' does not appear to be an "
                     "IPv4 or IPv6 network"),
    ("fd00::/64", "'fd00::/64' is IPv6; the playbooks set up IPv4 clusters only"),
], ids=["a network is fine", "host bits are named with the network", "a bare address is not CIDR",
        "an octet over 255 is refused", "IPv6 is refused"])
def test_cidr_problem_names_what_is_wrong(value: str, problem: str) -> None:
    assert filters.cidr_problem(value) == problem


def test_overlap_and_node_addresses() -> None:
    assert filters.cidr_overlap("10.233.64.0/18", "10.233.64.0/24")
    assert not filters.cidr_overlap("10.233.64.0/18", "10.233.0.0/18")
    assert not filters.cidr_overlap("banana", "10.233.0.0/18")
    assert filters.addresses_in_cidr(["10.233.0.5", "192.0.2.1", "cp1.example"],
                                     "10.233.0.0/18") == ["10.233.0.5"]
    assert filters.addresses_in_cidr(["10.233.0.5"], "not-a-cidr") == []


def test_the_plugin_registers_the_filters_by_name() -> None:
    assert set(filters.FilterModule().filters()) == {
        "kubeadmpy_cidr_problem", "kubeadmpy_cidr_overlap", "kubeadmpy_addresses_in_cidr"}
