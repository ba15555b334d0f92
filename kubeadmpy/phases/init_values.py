"""Map a loaded init configuration onto the explicit inputs of PKI, rendering and preflight.

PKI, the renderers and the preflight checks never read configuration objects; this module is the
one place that picks fields out of an `InitBundle`, so a renamed field breaks here and nowhere else.
"""

from __future__ import annotations

import os
import socket

from kubeadmpy import __version__, render
from kubeadmpy.config import InitBundle, v1beta4
from kubeadmpy.paths import HostPaths
from kubeadmpy.pki import PKISettings
from kubeadmpy.pki.from_config import settings_from_config
from kubeadmpy.render import ComponentExtras, ControlPlaneValues, KubeletValues
from kubeadmpy.supervisor import systemd_is_init

# The control-plane image the python flavor runs; built locally from the installed package.
PYTHON_IMAGE = f"kubeadmpy.local/control-plane:v{__version__}"


def pki_settings(bundle: InitBundle) -> PKISettings:
    return settings_from_config(bundle)


def _extras(component: v1beta4.ControlPlaneComponent) -> ComponentExtras:
    return ComponentExtras(
        extra_args=tuple(render.Arg(a.name, a.value) for a in component.extra_args),
        extra_volumes=tuple(
            render.HostPathMount(v.name, v.host_path, v.mount_path, v.read_only, v.path_type)  # type: ignore[arg-type]
            for v in component.extra_volumes
        ),
        extra_envs=tuple(render.EnvVar(e.name, e.value) for e in component.extra_envs),
    )


def _etcd(cluster: v1beta4.ClusterConfiguration) -> render.LocalEtcd | render.ExternalEtcd:
    if cluster.etcd.external is not None:
        ext = cluster.etcd.external
        return render.ExternalEtcd(tuple(ext.endpoints), ext.ca_file, ext.cert_file, ext.key_file)
    local = cluster.etcd.local or v1beta4.LocalEtcd()
    return render.LocalEtcd(
        data_dir=local.data_dir,
        image_repository=local.image_repository,
        image_tag=local.image_tag,
        extras=ComponentExtras(
            extra_args=tuple(render.Arg(a.name, a.value) for a in local.extra_args),
            extra_envs=tuple(render.EnvVar(e.name, e.value) for e in local.extra_envs),
        ),
    )


def control_plane_values(bundle: InitBundle, paths: HostPaths) -> ControlPlaneValues:
    init, cluster = bundle.init, bundle.cluster
    timeouts = init.timeouts
    health = timeouts.control_plane_component_health_check if timeouts else None
    ca_key = paths.host(cluster.certificates_dir) / "ca.key"
    ca_crt = paths.host(cluster.certificates_dir) / "ca.crt"
    return ControlPlaneValues(
        flavor=bundle.kubeadmpy.control_plane_flavor,  # type: ignore[arg-type]
        kubernetes_version=cluster.kubernetes_version,
        advertise_address=init.local_api_endpoint.advertise_address,
        node_name=init.node_registration.name,
        bind_port=init.local_api_endpoint.bind_port,
        image_repository=cluster.image_repository,
        python_image=PYTHON_IMAGE,
        cluster_name=cluster.cluster_name,
        service_subnet=cluster.networking.service_subnet,
        pod_subnet=cluster.networking.pod_subnet,
        dns_domain=cluster.networking.dns_domain,
        certificates_dir=cluster.certificates_dir,
        etcd=_etcd(cluster),
        api_server=_extras(cluster.api_server),
        controller_manager=_extras(cluster.controller_manager),
        scheduler=_extras(cluster.scheduler),
        feature_gates=tuple(sorted(cluster.feature_gates.items())),
        health_check_timeout_seconds=int(health.total_seconds()) if health else 240,
        proxy_env=render.proxy_env(os.environ),
        ca_cert_dirs=render.present_ca_cert_dirs(paths),
        external_ca=ca_crt.exists() and not ca_key.exists(),
        encryption_provider_config=(str(render.ENCRYPTION_CONFIG)
                                    if bundle.kubeadmpy.secrets_encryption.enabled else ""),
    )


def kubelet_values(bundle: InitBundle) -> KubeletValues:
    init, cluster = bundle.init, bundle.cluster
    registration = init.node_registration
    return KubeletValues(
        flavor=bundle.kubeadmpy.control_plane_flavor,  # type: ignore[arg-type]
        node_name=registration.name,
        hostname=socket.gethostname().lower(),
        service_subnet=cluster.networking.service_subnet,
        dns_domain=cluster.networking.dns_domain,
        certificates_dir=cluster.certificates_dir,
        cri_socket=registration.cri_socket,
        kubelet_extra_args=tuple(
            render.Arg(a.name, a.value) for a in registration.kubelet_extra_args
        ),
        user_config=bundle.kubelet,
        # The same rule containerd's config follows (cri.containerd_values): the two must match.
        cgroup_driver="systemd" if systemd_is_init() else "cgroupfs",
    )
