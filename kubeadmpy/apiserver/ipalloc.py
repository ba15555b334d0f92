"""ClusterIP and NodePort allocation (--service-cluster-ip-range, --service-node-port-range),
safe across apiservers.

Each allocated address is a key in etcd created with a create-if-absent transaction, so two
apiservers (or two concurrent requests) can never hand out the same address. The first address
of the range belongs to the `kubernetes` Service, as upstream.
"""

from __future__ import annotations

import ipaddress
import random

from kubeadmpy.apiserver.etcd import EtcdClient, EtcdError
from kubeadmpy.apiserver.storage import translate
from kubeadmpy.errors import UserInputError
from kubeadmpy.machinery import status
from kubeadmpy.machinery.status import Cause

ALLOCATION_PREFIX = "/registry/kubeadmpy/clusterips/"
NODE_PORT_PREFIX = "/registry/kubeadmpy/nodeports/"


def parse_service_range(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    first = text.split(",", 1)[0].strip()
    try:
        network = ipaddress.ip_network(first, strict=False)
    except ValueError as exc:
        raise UserInputError("--service-cluster-ip-range", f"{first!r} is not a CIDR",
                             "Pass a range such as 10.96.0.0/12.") from exc
    if network.num_addresses < 8:
        raise UserInputError("--service-cluster-ip-range", f"{first} is too small",
                             "Use a prefix of /29 or larger.")
    return network


class ClusterIPAllocator:
    def __init__(self, etcd: EtcdClient, network: ipaddress.IPv4Network | ipaddress.IPv6Network
                 ) -> None:
        self.etcd = etcd
        self.network = network
        # Usable host addresses: skip the network address (and broadcast for IPv4).
        self._size = min(network.num_addresses - 2, 1 << 20)

    @property
    def kubernetes_service_ip(self) -> str:
        return str(self.network.network_address + 1)

    async def _claim(self, ip: str) -> bool:
        try:
            result = await self.etcd.create(ALLOCATION_PREFIX + ip, b"{}")
        except EtcdError as exc:
            raise translate(exc) from exc
        return result.succeeded

    async def allocate(self, wanted: str | None) -> str:
        if wanted:
            try:
                address = ipaddress.ip_address(wanted)
            except ValueError as exc:
                raise status.invalid("Service", "", "", [Cause(
                    "FieldValueInvalid", f'Invalid value: "{wanted}": must be a valid IP address',
                    "spec.clusterIP")]) from exc
            if address not in self.network:
                raise status.invalid("Service", "", "", [Cause(
                    "FieldValueInvalid", f'Invalid value: "{wanted}": provided IP is not in the '
                    f"valid range. The range of valid IPs is {self.network}", "spec.clusterIP")])
            if not await self._claim(wanted):
                raise status.invalid("Service", "", "", [Cause(
                    "FieldValueInvalid", f'Invalid value: "{wanted}": provided IP is already '
                    "allocated", "spec.clusterIP")])
            return wanted
        start = random.randrange(self._size)
        # Offset 0 is the network address, offset 1 the kubernetes service: start at 2.
        for step in range(self._size):
            offset = 2 + (start + step) % max(self._size - 1, 1)
            candidate = str(self.network.network_address + offset)
            if await self._claim(candidate):
                return candidate
        raise status.APIStatusError(500, "InternalError",
                                    f"Internal error occurred: range {self.network} is full")

    async def release(self, ip: str) -> None:
        try:
            await self.etcd.delete_key(ALLOCATION_PREFIX + ip)
        except EtcdError as exc:
            raise translate(exc) from exc


def parse_port_range(text: str) -> tuple[int, int]:
    """`30000-32767` (upstream's format) as an inclusive range."""
    try:
        low_text, high_text = text.split("-", 1)
        low, high = int(low_text), int(high_text)
    except ValueError as exc:
        raise UserInputError("--service-node-port-range", f"{text!r} is not a range",
                             "Use the form 30000-32767") from exc
    if not 0 < low <= high < 65536:
        raise UserInputError("--service-node-port-range", f"{text!r} is out of bounds",
                             "Use ports between 1 and 65535, low-high")
    return low, high


class NodePortAllocator:
    def __init__(self, etcd: EtcdClient, ports: tuple[int, int]) -> None:
        self.etcd = etcd
        self.low, self.high = ports

    async def _claim(self, port: int) -> bool:
        try:
            result = await self.etcd.create(f"{NODE_PORT_PREFIX}{port}", b"{}")
        except EtcdError as exc:
            raise translate(exc) from exc
        return result.succeeded

    async def allocate(self, wanted: int | None, field: str) -> int:
        if wanted:
            if not self.low <= wanted <= self.high:
                raise status.invalid("Service", "", "", [Cause(
                    "FieldValueInvalid", f"Invalid value: {wanted}: provided port is not in the "
                    f"valid range. The range of valid ports is {self.low}-{self.high}", field)])
            if not await self._claim(wanted):
                raise status.invalid("Service", "", "", [Cause(
                    "FieldValueInvalid", f"Invalid value: {wanted}: provided port is already "
                    "allocated", field)])
            return wanted
        size = self.high - self.low + 1
        start = random.randrange(size)
        for step in range(size):
            candidate = self.low + (start + step) % size
            if await self._claim(candidate):
                return candidate
        raise status.APIStatusError(500, "InternalError", "Internal error occurred: "
                                    f"node port range {self.low}-{self.high} is full")

    async def release(self, port: int) -> None:
        try:
            await self.etcd.delete_key(f"{NODE_PORT_PREFIX}{port}")
        except EtcdError as exc:
            raise translate(exc) from exc
