"""Pod CIDR allocation: carve the cluster CIDR into equal node subnets and hand them out.

This is the state the node IPAM controller keeps: which subnets of `--cluster-cidr` are taken.
Like upstream's cidrset, allocation walks forward from the last subnet given out (so a subnet
released by a deleted node is not reused at once), and a cluster CIDR may be split into at most
2^16 node subnets.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from kubeadmpy.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_PREFIX_DIFFERENCE = 16
DEFAULT_MASK_SIZE = {4: 24, 6: 64}


class CIDRSetFull(Exception):
    """Every node subnet of the cluster CIDR is taken."""


def parse_cluster_cidrs(text: str) -> list[Network]:
    """`--cluster-cidr`: one CIDR, or two (one per IP family) separated by a comma."""
    networks: list[Network] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=True))
        except ValueError as exc:
            raise ConfigError("--cluster-cidr", f"{item!r} is not a network CIDR ({exc})",
                              "Give a network address with its prefix, e.g. 10.244.0.0/16"
                              ) from exc
    if not networks:
        raise ConfigError("--cluster-cidr", "is empty but --allocate-node-cidrs is true",
                          "Set --cluster-cidr (kubeadm: networking.podSubnet), e.g. "
                          "10.244.0.0/16")
    families = [n.version for n in networks]
    if len(networks) > 2 or len(set(families)) != len(families):
        raise ConfigError("--cluster-cidr", f"{text!r}: expected one CIDR or one IPv4 and one "
                          "IPv6 CIDR", "e.g. 10.244.0.0/16,fd00:10:244::/56")
    return networks


@dataclass
class CIDRSet:
    cluster: Network
    mask_size: int
    _used: set[int] = field(default_factory=set)
    _next: int = 0

    def __post_init__(self) -> None:
        if not self.cluster.prefixlen <= self.mask_size <= self.cluster.max_prefixlen:
            raise ConfigError("--node-cidr-mask-size", f"{self.mask_size} does not fit "
                              f"--cluster-cidr {self.cluster}", "Use a mask size between "
                              f"{self.cluster.prefixlen} and {self.cluster.max_prefixlen}")
        if self.mask_size - self.cluster.prefixlen > MAX_PREFIX_DIFFERENCE:
            raise ConfigError("--node-cidr-mask-size", f"{self.mask_size} would split "
                              f"{self.cluster} into more than 2^{MAX_PREFIX_DIFFERENCE} subnets",
                              f"Use at most /{self.cluster.prefixlen + MAX_PREFIX_DIFFERENCE} "
                              "or a smaller cluster CIDR")

    @property
    def capacity(self) -> int:
        return 1 << (self.mask_size - self.cluster.prefixlen)

    @property
    def used(self) -> int:
        return len(self._used)

    def _subnet(self, index: int) -> Network:
        size = 1 << (self.cluster.max_prefixlen - self.mask_size)
        base = int(self.cluster.network_address) + index * size
        return ipaddress.ip_network((base, self.mask_size))

    def _index(self, subnet: Network) -> int | None:
        if subnet.version != self.cluster.version or subnet.prefixlen != self.mask_size or \
                not subnet.subnet_of(self.cluster):  # type: ignore[arg-type]
            return None
        size = 1 << (self.cluster.max_prefixlen - self.mask_size)
        return (int(subnet.network_address) - int(self.cluster.network_address)) // size

    def allocate_next(self) -> Network:
        capacity = self.capacity
        for step in range(capacity):
            index = (self._next + step) % capacity
            if index not in self._used:
                self._used.add(index)
                self._next = (index + 1) % capacity
                return self._subnet(index)
        raise CIDRSetFull(f"all {capacity} /{self.mask_size} subnets of {self.cluster} are "
                          "allocated")

    def occupy(self, subnet: Network) -> bool:
        """Mark a subnet some node already has; False if it is not one of this set's."""
        index = self._index(subnet)
        if index is None:
            return False
        self._used.add(index)
        return True

    def release(self, subnet: Network) -> None:
        index = self._index(subnet)
        if index is not None:
            self._used.discard(index)


def cidr_sets(cluster_cidr: str, mask_size: int = 0, mask_size_ipv4: int = 0,
              mask_size_ipv6: int = 0) -> list[CIDRSet]:
    """One set per family; a family's own mask flag wins over --node-cidr-mask-size."""
    sets = []
    for network in parse_cluster_cidrs(cluster_cidr):
        family_mask = mask_size_ipv4 if network.version == 4 else mask_size_ipv6
        sets.append(CIDRSet(network, family_mask or mask_size or
                            DEFAULT_MASK_SIZE[network.version]))
    return sets
