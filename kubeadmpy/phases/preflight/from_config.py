"""Build a `PreflightContext` and the ignore list from (defaulted) kubeadm configuration.

Kept next to the checks so the mapping from config fields to what the checks look at lives in
one place: the workflows call `init_context(...)`/`join_context(...)` and never pick fields by
hand. Empty fields fall back to kubeadm's defaults, so undefaulted objects work too.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from kubeadmpy.config import v1beta4
from kubeadmpy.paths import DEFAULT_CERTIFICATES_DIR, ETCD_DATA_DIR, HostPaths
from kubeadmpy.phases.preflight.context import (
    DEFAULT_BIND_PORT,
    DEFAULT_CRI_SOCKET,
    ExternalEtcd,
    PreflightContext,
    address_families,
    endpoint_host,
)

DEFAULT_SERVICE_SUBNET = "10.96.0.0/12"


def _cri(socket: str) -> str:
    if not socket:
        return DEFAULT_CRI_SOCKET
    return f"unix://{socket}" if socket.startswith("/") else socket


def _external(etcd: v1beta4.Etcd) -> ExternalEtcd | None:
    if etcd.external is None:
        return None
    external = etcd.external
    return ExternalEtcd(
        tuple(external.endpoints), external.ca_file, external.cert_file, external.key_file
    )


def _etcd_data_dir(etcd: v1beta4.Etcd) -> str | PurePosixPath:
    if etcd.local is not None and etcd.local.data_dir:
        return etcd.local.data_dir
    return ETCD_DATA_DIR


def init_context(
    init: v1beta4.InitConfiguration,
    cluster: v1beta4.ClusterConfiguration,
    paths: HostPaths,
    *,
    environ: Mapping[str, str] | None = None,
) -> PreflightContext:
    """The context of `init`: forwarding checks follow the subnets and the advertise address."""
    endpoint = init.local_api_endpoint
    service_subnet = cluster.networking.service_subnet or DEFAULT_SERVICE_SUBNET
    ipv4, ipv6 = address_families(
        [service_subnet, cluster.networking.pod_subnet, endpoint.advertise_address]
    )
    return PreflightContext(
        paths=paths,
        node_name=init.node_registration.name or socket.gethostname().lower(),
        cri_socket=_cri(init.node_registration.cri_socket),
        bind_port=endpoint.bind_port or DEFAULT_BIND_PORT,
        etcd_data_dir=_etcd_data_dir(cluster.etcd),
        external_etcd=_external(cluster.etcd),
        is_ipv4=ipv4,
        is_ipv6=ipv6,
        advertise_address=endpoint.advertise_address,
        service_subnet=service_subnet,
        pod_subnet=cluster.networking.pod_subnet,
        kubernetes_version=cluster.kubernetes_version,
        dry_run=init.dry_run,
        environ=environ,
    )


def join_context(
    join: v1beta4.JoinConfiguration,
    paths: HostPaths,
    *,
    cluster: v1beta4.ClusterConfiguration | None = None,
    environ: Mapping[str, str] | None = None,
) -> PreflightContext:
    """The context of `join`; `cluster` (fetched during discovery) matters for a control plane.

    Forwarding checks follow the discovery endpoint's address family, as in kubeadm.
    """
    discovery = join.discovery.bootstrap_token
    endpoint_text = discovery.api_server_endpoint if discovery is not None else ""
    ipv4, ipv6 = address_families([endpoint_host(endpoint_text)])
    control_plane = join.control_plane
    bind_port = DEFAULT_BIND_PORT
    if control_plane is not None and control_plane.local_api_endpoint.bind_port:
        bind_port = control_plane.local_api_endpoint.bind_port
    etcd = cluster.etcd if cluster is not None else v1beta4.Etcd()
    return PreflightContext(
        paths=paths,
        node_name=join.node_registration.name or socket.gethostname().lower(),
        cri_socket=_cri(join.node_registration.cri_socket),
        bind_port=bind_port,
        etcd_data_dir=_etcd_data_dir(etcd),
        external_etcd=_external(etcd),
        is_ipv4=ipv4,
        is_ipv6=ipv6,
        discovery_endpoint=endpoint_text,
        ca_cert_path=join.ca_cert_path or DEFAULT_CERTIFICATES_DIR / "ca.crt",
        kubernetes_version=cluster.kubernetes_version if cluster is not None else "",
        download_certs=bool(control_plane is not None and control_plane.certificate_key),
        dry_run=join.dry_run,
        environ=environ,
    )


def reset_context(reset: v1beta4.ResetConfiguration, paths: HostPaths) -> PreflightContext:
    return PreflightContext(paths=paths, cri_socket=_cri(reset.cri_socket), dry_run=reset.dry_run)


def ignore_list(
    flag_values: Iterable[str] | None, options: v1beta4.NodeRegistrationOptions | None
) -> list[str]:
    """`--ignore-preflight-errors` values plus `nodeRegistration.ignorePreflightErrors`.

    Pass the result to `run_preflight`, which validates it (e.g. `all` with other names).
    """
    values = list(flag_values or [])
    if options is not None:
        values += options.ignore_preflight_errors
    return values
