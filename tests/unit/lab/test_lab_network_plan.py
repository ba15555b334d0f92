"""The lab's address plan and names: one range, one /24 per lab, recognisable host objects."""

from __future__ import annotations

import ipaddress

import pytest

from kubeadmpy.errors import UserInputError
from kubeadmpy.lab import network


def test_every_lab_subnet_lies_inside_the_one_lab_range_and_none_overlap() -> None:
    subnets = [network.lab_subnet(i)
               for i in range(network.FIRST_LAB_INDEX, network.LAST_LAB_INDEX + 1)]
    assert all(s.subnet_of(network.LAB_RANGE) for s in subnets)
    assert len({s.network_address for s in subnets}) == len(subnets)
    assert not any(s.overlaps(network.SEAL_PROBE_SUBNET) for s in subnets)


@pytest.mark.parametrize("index,position,gateway,address", [
    (1, 0, "10.213.1.1", "10.213.1.11"),
    (1, 4, "10.213.1.1", "10.213.1.15"),
    (250, 199, "10.213.250.1", "10.213.250.210"),
], ids=["first machine of the first lab", "fifth machine", "last machine of the last lab"])
def test_the_bridge_has_the_first_address_and_machines_follow_from_eleven(
        index: int, position: int, gateway: str, address: str) -> None:
    assert network.gateway_address(index) == ipaddress.IPv4Address(gateway)
    assert network.machine_address(index, position) == ipaddress.IPv4Address(address)
    assert network.machine_address(index, position) in network.lab_subnet(index)


@pytest.mark.parametrize("index", [0, 251, 255], ids=["zero", "just past the last", "255"])
def test_indexes_outside_the_plan_are_refused(index: int) -> None:
    with pytest.raises(ValueError):
        network.lab_subnet(index)


def test_link_names_fit_the_kernel_limit_of_fifteen_characters() -> None:
    longest = network.veth_name(network.LAST_LAB_INDEX, network.MAX_MACHINES - 1)
    assert longest == "kplab250-200" and len(longest) <= 15
    assert network.bridge_name(7) == "kplab7"


@pytest.mark.parametrize("netns,lab", [
    ("kubeadmpy-lab.demo.cp1", "demo"),
    ("kubeadmpy-lab.a-b.w3", "a-b"),
    ("kubeadmpy-lab.a.w3", "a"),
    ("kubeadmpy-lab-test-outside", None),
    ("cni-1234", None),
], ids=["a lab machine", "a lab name with a dash", "a lab whose name prefixes another",
        "a test namespace", "a namespace of someone else"])
def test_namespaces_are_attributed_to_exactly_their_lab(netns: str, lab: str | None) -> None:
    assert network.lab_of_netns(netns) == lab


def test_link_aliases_name_their_lab() -> None:
    assert network.lab_of_alias(network.link_alias("demo")) == "demo"
    assert network.lab_of_alias(None) is None
    assert network.lab_of_alias("something else") is None


@pytest.mark.parametrize("name", ["default", "e2e-1a2b3c", "a", "x" * 24])
def test_dns_label_names_are_accepted(name: str) -> None:
    assert network.validate_name("--name", name) == name


@pytest.mark.parametrize("name", ["", "Upper", "under_score", "-dash", "dash-", "dot.ted",
                                  "x" * 25])
def test_names_that_cannot_be_hostnames_are_refused_naming_the_option(name: str) -> None:
    with pytest.raises(UserInputError) as caught:
        network.validate_name("--name", name)
    assert caught.value.field == "--name" and repr(name) in str(caught.value)
