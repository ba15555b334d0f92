"""The certificate table: one `CertSpec` per certificate kubeadm creates.

Phases (`init phase certs <name>`), `certs renew`, `certs check-expiration`, tests and docs all
iterate this table, so a certificate is described exactly once: its files, signing CA, subject,
extended key usages and the function that computes its subject alternative names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from kubeadmpy.pki.certs import CLIENT_AUTH, SERVER_AUTH, AltNames, CertRequest
from kubeadmpy.pki.settings import IPAddress, PKISettings, is_dns_san, parse_ip

CLUSTER_ADMINS_GROUP = "kubeadm:cluster-admins"
SYSTEM_MASTERS_GROUP = "system:masters"
NODES_GROUP = "system:nodes"
SERVICE_ACCOUNT_KEY_NAME = "sa"

SanFunction = Callable[[PKISettings, list[str]], AltNames]


@dataclass(frozen=True)
class CertSpec:
    """One certificate: `name` is the phase name, `base_name` the file name without suffix."""

    name: str
    base_name: str
    long_name: str
    ca_name: str | None  # the spec name of the signing CA; None for a self-signed CA
    common_name: Callable[[PKISettings], str]
    organizations: tuple[str, ...] = ()
    usages: tuple[x509.ObjectIdentifier, ...] = ()
    alt_names: SanFunction | None = None

    @property
    def is_ca(self) -> bool:
        return self.ca_name is None

    @property
    def cert_file(self) -> str:
        return f"{self.base_name}.crt"

    @property
    def key_file(self) -> str:
        return f"{self.base_name}.key"

    def request(self, settings: PKISettings, warnings: list[str]) -> CertRequest:
        """The leaf request for `settings`; skipped-SAN warnings are appended to `warnings`."""
        sans = self.alt_names(settings, warnings) if self.alt_names else AltNames()
        return CertRequest(self.common_name(settings), self.organizations, sans, self.usages)


def _fixed(common_name: str) -> Callable[[PKISettings], str]:
    return lambda _settings: common_name


def _node_name(settings: PKISettings) -> str:
    return settings.node_name


def _add_extra_sans(
    cert_name: str,
    extra: tuple[str, ...],
    dns: list[str],
    ips: list[IPAddress],
    warnings: list[str],
) -> None:
    for san in extra:
        ip = parse_ip(san)
        if ip is not None:
            ips.append(ip)
        elif is_dns_san(san):
            dns.append(san)
        else:
            warnings.append(
                f"{san!r} was not added to the {cert_name!r} SAN, because it is not a valid IP "
                "or RFC-1123 compliant DNS entry"
            )


def apiserver_alt_names(settings: PKISettings, warnings: list[str]) -> AltNames:
    """Node name, the `kubernetes` Service names and VIP, advertise address, endpoint, extras."""
    dns = [
        settings.node_name,
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{settings.dns_domain}",
    ]
    ips: list[IPAddress] = [settings.kubernetes_service_ip, settings.advertise_ip]
    if settings.control_plane_endpoint:
        host = settings.cluster_endpoint.host
        endpoint_ip = parse_ip(host)
        if endpoint_ip is not None:
            ips.append(endpoint_ip)
        else:
            dns.append(host)
    _add_extra_sans("apiserver", settings.apiserver_cert_sans, dns, ips, warnings)
    return AltNames.of(dns, ips)


def _etcd_alt_names(name: str, extra: Callable[[PKISettings], tuple[str, ...]]) -> SanFunction:
    def alt_names(settings: PKISettings, warnings: list[str]) -> AltNames:
        dns = [settings.node_name, "localhost"]
        ips: list[IPAddress] = [settings.advertise_ip, *map(_ip, ("127.0.0.1", "::1"))]
        _add_extra_sans(name, extra(settings), dns, ips, warnings)
        return AltNames.of(dns, ips)

    return alt_names


def _ip(text: str) -> IPAddress:
    ip = parse_ip(text)
    assert ip is not None
    return ip


CERT_SPECS: tuple[CertSpec, ...] = (
    CertSpec("ca", "ca", "self-signed Kubernetes CA to provision identities for other Kubernetes "
             "components", None, _fixed("kubernetes")),
    CertSpec("apiserver", "apiserver", "certificate for serving the Kubernetes API", "ca",
             _fixed("kube-apiserver"), (), (SERVER_AUTH,), apiserver_alt_names),
    CertSpec("apiserver-kubelet-client", "apiserver-kubelet-client",
             "certificate for the API server to connect to kubelet", "ca",
             _fixed("kube-apiserver-kubelet-client"), (CLUSTER_ADMINS_GROUP,), (CLIENT_AUTH,)),
    CertSpec("front-proxy-ca", "front-proxy-ca", "self-signed CA to provision identities for "
             "front proxy", None, _fixed("front-proxy-ca")),
    CertSpec("front-proxy-client", "front-proxy-client",
             "certificate for the front proxy client", "front-proxy-ca",
             _fixed("front-proxy-client"), (), (CLIENT_AUTH,)),
    CertSpec("etcd-ca", "etcd/ca", "self-signed CA to provision identities for etcd", None,
             _fixed("etcd-ca")),
    CertSpec("etcd-server", "etcd/server", "certificate for serving etcd", "etcd-ca",
             _node_name, (), (SERVER_AUTH, CLIENT_AUTH),
             _etcd_alt_names("etcd-server", lambda s: s.etcd_server_cert_sans)),
    CertSpec("etcd-peer", "etcd/peer", "certificate for etcd nodes to communicate with each other",
             "etcd-ca", _node_name, (), (SERVER_AUTH, CLIENT_AUTH),
             _etcd_alt_names("etcd-peer", lambda s: s.etcd_peer_cert_sans)),
    CertSpec("etcd-healthcheck-client", "etcd/healthcheck-client",
             "certificate for liveness probes to healthcheck etcd", "etcd-ca",
             _fixed("kube-etcd-healthcheck-client"), (), (CLIENT_AUTH,)),
    CertSpec("apiserver-etcd-client", "apiserver-etcd-client",
             "certificate the apiserver uses to access etcd", "etcd-ca",
             _fixed("kube-apiserver-etcd-client"), (), (CLIENT_AUTH,)),
)  # fmt: skip

SPECS_BY_NAME = {spec.name: spec for spec in CERT_SPECS}
CA_SPECS = tuple(spec for spec in CERT_SPECS if spec.is_ca)
LEAF_SPECS = tuple(spec for spec in CERT_SPECS if not spec.is_ca)
# every name `ensure_certs` accepts, in kubeadm's phase order
ALL_CERT_NAMES = (*(spec.name for spec in CERT_SPECS), SERVICE_ACCOUNT_KEY_NAME)
