"""Pod CIDR allocation: distinct node subnets, reuse after release, refusal of bad flags."""

from __future__ import annotations

import ipaddress

import pytest

from kubeadmpy.controllers.cluster.cidrset import CIDRSet, CIDRSetFull, cidr_sets
from kubeadmpy.errors import ConfigError


def test_subnets_are_distinct_slash_24s_in_order() -> None:
    (ipv4,) = cidr_sets("10.244.0.0/16")
    got = [str(ipv4.allocate_next()) for _ in range(3)]
    assert got == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]
    assert ipv4.capacity == 256


def test_occupied_subnets_are_skipped_and_a_released_one_is_not_reused_at_once() -> None:
    (ipv4,) = cidr_sets("10.244.0.0/16")
    assert ipv4.occupy(ipaddress.ip_network("10.244.0.0/24"))
    assert str(ipv4.allocate_next()) == "10.244.1.0/24"
    ipv4.release(ipaddress.ip_network("10.244.0.0/24"))
    assert str(ipv4.allocate_next()) == "10.244.2.0/24"


def test_a_subnet_outside_the_cluster_cidr_is_not_taken() -> None:
    (ipv4,) = cidr_sets("10.244.0.0/16")
    assert not ipv4.occupy(ipaddress.ip_network("192.168.0.0/24"))
    assert not ipv4.occupy(ipaddress.ip_network("10.244.0.0/25"))


def test_a_full_set_says_so() -> None:
    small = CIDRSet(ipaddress.ip_network("10.0.0.0/23"), 24)
    small.allocate_next()
    small.allocate_next()
    with pytest.raises(CIDRSetFull, match="all 2 /24 subnets"):
        small.allocate_next()


def test_dual_stack_gets_one_set_per_family_with_family_defaults() -> None:
    ipv4, ipv6 = cidr_sets("10.244.0.0/16,fd00:10:244::/56")
    assert (ipv4.mask_size, ipv6.mask_size) == (24, 64)
    assert str(ipv6.allocate_next()) == "fd00:10:244::/64"


@pytest.mark.parametrize(("cidr", "mask", "field"), [
    ("", 0, "--cluster-cidr"),
    ("10.244.0.1/16", 0, "--cluster-cidr"),
    ("10.0.0.0/8,10.1.0.0/16", 0, "--cluster-cidr"),
    ("10.244.0.0/16", 8, "--node-cidr-mask-size"),
    ("10.0.0.0/8", 28, "--node-cidr-mask-size"),
], ids=["empty cidr", "host bits set", "two ipv4 cidrs", "mask wider than the cluster",
        "more than 2^16 subnets"])
def test_bad_flags_are_refused_naming_the_flag(cidr: str, mask: int, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        cidr_sets(cidr, mask)
    assert caught.value.field == field
