"""What the preflight check sets need to know, as one small typed value.

The init/join workflows build a `PreflightContext` from their configuration; tests build one
directly, pointing `paths` at a scratch root, `proc_root`/`sys_root` at fixture trees and the
component ports at free high ports. Only the fields listed here influence which checks run.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from kubeadmpy.paths import DEFAULT_CERTIFICATES_DIR, ETCD_DATA_DIR, HostPaths
from kubeadmpy.phases.preflight import host

DEFAULT_CRI_SOCKET = "unix:///var/run/containerd/containerd.sock"
DEFAULT_BIND_PORT = 6443

Resolver = Callable[[str], list[str]]


def resolve_host(name: str) -> list[str]:
    """Addresses `name` resolves to on this machine (hosts file, then DNS), [] if none."""
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class ComponentPorts:
    """The fixed ports of the components, overridable so tests never touch the real ones."""

    scheduler: int = 10259
    controller_manager: int = 10257
    kubelet: int = 10250
    etcd_client: int = 2379
    etcd_peer: int = 2380


@dataclass(frozen=True)
class ExternalEtcd:
    """An etcd cluster kubeadmpy does not run; its client certificate files must exist."""

    endpoints: tuple[str, ...]
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


@dataclass(frozen=True)
class PreflightContext:
    """Inputs of `init_checks`, `join_checks` and `reset_checks`."""

    paths: HostPaths = field(default_factory=HostPaths)
    node_name: str = field(default_factory=socket.gethostname)
    cri_socket: str = DEFAULT_CRI_SOCKET
    bind_port: int = DEFAULT_BIND_PORT
    ports: ComponentPorts = field(default_factory=ComponentPorts)
    etcd_data_dir: str | PurePosixPath = ETCD_DATA_DIR
    external_etcd: ExternalEtcd | None = None  # None: a local (stacked) etcd static pod
    ca_cert_path: str | PurePosixPath = DEFAULT_CERTIFICATES_DIR / "ca.crt"  # worker join
    is_ipv4: bool = True  # an IPv4 address or CIDR is in use: IPv4 forwarding must be on
    is_ipv6: bool = False
    advertise_address: str = ""  # init: the API server's address (HTTPProxy)
    service_subnet: str = "10.96.0.0/12"  # init: comma list (HTTPProxyCIDR)
    pod_subnet: str = ""
    discovery_endpoint: str = ""  # join: the API server "host:port" (HTTPProxy)
    environ: Mapping[str, str] | None = None  # proxy variables; None = this process's
    kubernetes_version: str = ""  # e.g. "v1.31.2"; "" = current (conntrack not required)
    # Join with --certificate-key: the external etcd client certs are downloaded, not checked.
    download_certs: bool = False
    # All checks only read, so a dry run runs the same set; kept so workflows pass it through.
    dry_run: bool = False
    proc_root: Path = host.PROC
    sys_root: Path = host.SYS
    search_path: str | None = None  # PATH for FileExisting-* checks; None = this process's PATH
    resolve: Resolver = resolve_host

    @property
    def local_etcd(self) -> bool:
        return self.external_etcd is None

    @property
    def discovery_host(self) -> str:
        return endpoint_host(self.discovery_endpoint)


def endpoint_host(endpoint: str) -> str:
    """The host of a "host:port" endpoint ("" when there is no port, as kubeadm skips those)."""
    host, sep, port = endpoint.rpartition(":")
    return host.strip("[]") if sep and port.isdigit() else ""


def address_families(addresses: Iterable[str]) -> tuple[bool, bool]:
    """(uses IPv4, uses IPv6) for addresses and CIDRs; comma lists allowed, junk ignored.

    Workflows feed it the advertise address, the service and pod subnets (init) or the
    discovery endpoint's host (join), as kubeadm does to decide the forwarding checks.
    """
    ipv4 = ipv6 = False
    for entry in addresses:
        for item in entry.split(","):
            text = item.strip().strip("[]")
            if not text:
                continue
            try:
                version = ipaddress.ip_network(text, strict=False).version
            except ValueError:
                continue
            ipv4 = ipv4 or version == 4
            ipv6 = ipv6 or version == 6
    return ipv4, ipv6
