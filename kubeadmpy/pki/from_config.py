"""The one place a kubeadm configuration becomes `PKISettings`.

PKI functions take explicit settings so they stay independent of the configuration model; this
adapter maps a defaulted, validated `InitBundle` onto them, for the CLI's `--config` and for the
init workflow alike, so the mapping is written once.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from kubeadmpy.config import InitBundle
from kubeadmpy.pki.settings import DEFAULT_CA_VALIDITY, DEFAULT_CERT_VALIDITY, PKISettings


def settings_from_config(bundle: InitBundle) -> PKISettings:
    """PKISettings for this node from an init configuration (flags already applied)."""
    init, cluster = bundle.init, bundle.cluster
    local_etcd = cluster.etcd.local
    return PKISettings(
        node_name=init.node_registration.name,
        advertise_address=init.local_api_endpoint.advertise_address,
        bind_port=init.local_api_endpoint.bind_port,
        control_plane_endpoint=cluster.control_plane_endpoint,
        service_subnet=cluster.networking.service_subnet,
        dns_domain=cluster.networking.dns_domain,
        cluster_name=cluster.cluster_name,
        apiserver_cert_sans=tuple(cluster.api_server.cert_sans),
        etcd_server_cert_sans=tuple(local_etcd.server_cert_sans) if local_etcd else (),
        etcd_peer_cert_sans=tuple(local_etcd.peer_cert_sans) if local_etcd else (),
        encryption_algorithm=cluster.encryption_algorithm,
        cert_validity=cluster.certificate_validity_period or DEFAULT_CERT_VALIDITY,
        ca_validity=cluster.ca_certificate_validity_period or DEFAULT_CA_VALIDITY,
    )


def certificates_dir(bundle: InitBundle) -> PurePosixPath:
    """The logical certificatesDir of the configuration (map it through HostPaths to use it)."""
    return PurePosixPath(bundle.cluster.certificates_dir)
