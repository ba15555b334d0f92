"""The explicit inputs of every PKI operation, checked once at construction.

The PKI code never reads configuration objects: the integrator maps a kubeadm configuration onto
`PKISettings`, so PKI stays testable on its own and independent of the config module. Bad values
are reported with the kubeadm configuration field they come from, which is what a user edits.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import timedelta

from kubeadmpy.config.durations import format_go_duration
from kubeadmpy.errors import UserInputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ENCRYPTION_ALGORITHMS = ("ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072", "RSA-4096")
DEFAULT_ENCRYPTION_ALGORITHM = "ECDSA-P256"
DEFAULT_CERT_VALIDITY = timedelta(days=365)
DEFAULT_CA_VALIDITY = timedelta(days=3650)
DEFAULT_BIND_PORT = 6443

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"^{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*$")
_WILDCARD_SUBDOMAIN = re.compile(rf"^\*\.{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*$")


def is_dns_subdomain(name: str) -> bool:
    """Whether `name` is an RFC 1123 subdomain (what Kubernetes accepts as a DNS name)."""
    return len(name) <= 253 and bool(_DNS1123_SUBDOMAIN.match(name))


def is_dns_san(name: str) -> bool:
    """Whether `name` may be a DNS SAN: an RFC 1123 subdomain or a `*.` wildcard subdomain."""
    return len(name) <= 253 and bool(
        _DNS1123_SUBDOMAIN.match(name) or _WILDCARD_SUBDOMAIN.match(name)
    )


def parse_ip(text: str) -> IPAddress | None:
    """`text` as an IP address, or None when it is not one."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Endpoint:
    """A host and port an API server is reached at."""

    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"


def parse_endpoint(text: str, default_port: int, *, field_name: str) -> Endpoint:
    """Parse `host`, `host:port`, `[v6]` or `[v6]:port` (kubeadm's controlPlaneEndpoint forms)."""
    host, port_text = text, ""
    if text.startswith("["):
        closing = text.find("]")
        if closing < 0:
            raise UserInputError(field_name, f"{text!r} has an unclosed '['", "write [IPv6]:port")
        host, rest = text[1:closing], text[closing + 1 :]
        if rest and not rest.startswith(":"):
            raise UserInputError(field_name, f"{text!r} is not host[:port]", "write [IPv6]:port")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    # more than one ':' without brackets: a bare IPv6 address
    if not host or not (parse_ip(host) or is_dns_subdomain(host)):
        raise UserInputError(
            field_name,
            f"{text!r} does not start with a valid IP address or DNS name",
            "Use host, host:port or [IPv6]:port, e.g. cp.example.com:6443",
        )
    if not port_text:
        return Endpoint(host, default_port)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UserInputError(
            field_name, f"port {port_text!r} in {text!r} is invalid", "Use a port in 1-65535"
        )
    return Endpoint(host, int(port_text))


@dataclass(frozen=True)
class PKISettings:
    """Everything certificates and kubeconfig files are derived from.

    `control_plane_endpoint` is "" or host[:port]; `service_subnet` may be a comma-separated
    dual-stack pair, whose first subnet gives the `kubernetes` Service IP SAN.
    """

    node_name: str
    advertise_address: str
    bind_port: int = DEFAULT_BIND_PORT
    control_plane_endpoint: str = ""
    service_subnet: str = "10.96.0.0/12"
    dns_domain: str = "cluster.local"
    cluster_name: str = "kubernetes"
    apiserver_cert_sans: tuple[str, ...] = ()
    etcd_server_cert_sans: tuple[str, ...] = ()
    etcd_peer_cert_sans: tuple[str, ...] = ()
    encryption_algorithm: str = DEFAULT_ENCRYPTION_ALGORITHM
    cert_validity: timedelta = DEFAULT_CERT_VALIDITY
    ca_validity: timedelta = DEFAULT_CA_VALIDITY

    def __post_init__(self) -> None:
        if not is_dns_subdomain(self.node_name):
            raise UserInputError(
                "nodeRegistration.name",
                f"{self.node_name!r} is not a valid node name",
                "Use lower-case letters, digits, '-' and '.' (an RFC 1123 subdomain)",
            )
        if parse_ip(self.advertise_address) is None:
            raise UserInputError(
                "localAPIEndpoint.advertiseAddress",
                f"{self.advertise_address!r} is not an IP address",
                "Give the IP this machine's API server is reached at, e.g. 192.168.1.10",
            )
        if not 0 < self.bind_port < 65536:
            raise UserInputError(
                "localAPIEndpoint.bindPort", f"{self.bind_port} is out of range", "Use 1-65535"
            )
        if self.control_plane_endpoint:
            parse_endpoint(
                self.control_plane_endpoint, self.bind_port, field_name="controlPlaneEndpoint"
            )
        self.kubernetes_service_ip  # noqa: B018 - validates the subnet early
        if not is_dns_subdomain(self.dns_domain):
            raise UserInputError(
                "networking.dnsDomain",
                f"{self.dns_domain!r} is not a valid DNS domain",
                "Use e.g. cluster.local",
            )
        if self.encryption_algorithm not in ENCRYPTION_ALGORITHMS:
            raise UserInputError(
                "encryptionAlgorithm",
                f"{self.encryption_algorithm!r} is not supported",
                f"Use one of {', '.join(ENCRYPTION_ALGORITHMS)}",
            )
        for name, period in (
            ("certificateValidityPeriod", self.cert_validity),
            ("caCertificateValidityPeriod", self.ca_validity),
        ):
            if period <= timedelta(0):
                raise UserInputError(
                    name, f"{format_go_duration(period)} is not positive", "Use e.g. 8760h"
                )

    @property
    def advertise_ip(self) -> IPAddress:
        address = parse_ip(self.advertise_address)
        assert address is not None  # checked in __post_init__
        return address

    @property
    def kubernetes_service_ip(self) -> IPAddress:
        """The first address of the (first) service subnet: the `kubernetes` Service VIP."""
        first = self.service_subnet.split(",")[0].strip()
        try:
            network = ipaddress.ip_network(first, strict=False)
        except ValueError as exc:
            raise UserInputError(
                "networking.serviceSubnet",
                f"{first!r} is not a CIDR",
                "Use e.g. 10.96.0.0/12",
            ) from exc
        if network.num_addresses < 2:
            raise UserInputError(
                "networking.serviceSubnet", f"{first!r} is too small", "Use e.g. 10.96.0.0/12"
            )
        return network[1]

    @property
    def local_endpoint(self) -> Endpoint:
        """This machine's API server: advertise address and bind port."""
        return Endpoint(str(self.advertise_ip), self.bind_port)

    @property
    def cluster_endpoint(self) -> Endpoint:
        """controlPlaneEndpoint when set (bind port if it has none), else the local endpoint."""
        if not self.control_plane_endpoint:
            return self.local_endpoint
        return parse_endpoint(
            self.control_plane_endpoint, self.bind_port, field_name="controlPlaneEndpoint"
        )
