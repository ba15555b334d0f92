"""Contexts built from kubeadm configuration objects pick the fields the checks need."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from kubeadmpy.config import v1beta4
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.preflight import init_checks, join_checks
from kubeadmpy.phases.preflight.from_config import (
    ignore_list,
    init_context,
    join_context,
    reset_context,
)

PATHS = HostPaths(Path("/tmp/not-used"))


def cluster(**networking: str) -> v1beta4.ClusterConfiguration:
    return v1beta4.ClusterConfiguration(
        networking=v1beta4.Networking(**networking),
        etcd=v1beta4.Etcd(local=v1beta4.LocalEtcd(data_dir="/data/etcd")),
        kubernetes_version="v1.31.2",
    )


def init(advertise: str = "10.0.0.10", port: int = 16443) -> v1beta4.InitConfiguration:
    return v1beta4.InitConfiguration(
        node_registration=v1beta4.NodeRegistrationOptions(
            name="cp-1", cri_socket="/run/containerd/containerd.sock"
        ),
        local_api_endpoint=v1beta4.APIEndpoint(advertise_address=advertise, bind_port=port),
    )


def test_init_context_carries_node_port_etcd_and_networking() -> None:
    ctx = init_context(init(), cluster(service_subnet="10.96.0.0/12", pod_subnet="10.244.0.0/16"),
                       PATHS)  # fmt: skip
    assert ctx.node_name == "cp-1"
    assert ctx.cri_socket == "unix:///run/containerd/containerd.sock"
    assert ctx.bind_port == 16443
    assert ctx.etcd_data_dir == "/data/etcd" and ctx.local_etcd
    assert (ctx.is_ipv4, ctx.is_ipv6) == (True, False)
    assert ctx.kubernetes_version == "v1.31.2"
    names = [c.name for c in init_checks(ctx)]
    assert "Port-16443" in names and "DirAvailable--data-etcd" in names
    assert "FileExisting-conntrack" in names  # a v1.31 target still needs conntrack
    assert names[:4] == ["IsPrivilegedUser", "NumCPU", "Mem", "KubernetesVersion"]
    assert names.count("HTTPProxyCIDR") == 2


@pytest.mark.parametrize(
    ("advertise", "networking", "families"),
    [
        ("fd00::10", {"service_subnet": "fd00:10:96::/112"}, (False, True)),
        ("10.0.0.10", {"service_subnet": "10.96.0.0/12,fd00:10:96::/112"}, (True, True)),
        ("10.0.0.10", {}, (True, False)),
    ],
    ids=["IPv6 single stack", "dual-stack service subnet", "default service subnet"],
)
def test_init_forwarding_checks_follow_subnets_and_advertise_address(
    advertise: str, networking: dict[str, str], families: tuple[bool, bool]
) -> None:
    ctx = init_context(init(advertise), cluster(**networking), PATHS)
    assert (ctx.is_ipv4, ctx.is_ipv6) == families


def test_external_etcd_comes_from_the_cluster_configuration() -> None:
    config = v1beta4.ClusterConfiguration(
        etcd=v1beta4.Etcd(
            external=v1beta4.ExternalEtcd(
                endpoints=["https://10.0.0.5:2379"], ca_file="/etc/etcd/ca.crt"
            )
        )
    )
    ctx = init_context(init(), config, PATHS)
    assert ctx.external_etcd is not None and ctx.external_etcd.ca_file == "/etc/etcd/ca.crt"
    assert [c.name for c in init_checks(ctx)][-1] == "ExternalEtcdClientCertificates"


def join(endpoint: str, control_plane: bool = False) -> v1beta4.JoinConfiguration:
    return v1beta4.JoinConfiguration(
        node_registration=v1beta4.NodeRegistrationOptions(name="worker-1"),
        ca_cert_path="/etc/kubernetes/pki/ca.crt",
        discovery=v1beta4.Discovery(
            bootstrap_token=v1beta4.BootstrapTokenDiscovery(api_server_endpoint=endpoint)
        ),
        control_plane=v1beta4.JoinControlPlane(
            local_api_endpoint=v1beta4.APIEndpoint(bind_port=7443), certificate_key="ab" * 32
        )
        if control_plane
        else None,
    )


@pytest.mark.parametrize(
    ("endpoint", "families"),
    [("10.0.0.10:6443", (True, False)), ("[fd00::10]:6443", (False, True))],
    ids=["an IPv4 endpoint", "an IPv6 endpoint"],
)
def test_join_forwarding_checks_follow_the_discovery_endpoint(
    endpoint: str, families: tuple[bool, bool]
) -> None:
    ctx = join_context(join(endpoint), PATHS)
    assert (ctx.is_ipv4, ctx.is_ipv6) == families
    assert ctx.discovery_host == endpoint.rpartition(":")[0].strip("[]")
    assert ctx.cri_socket == "unix:///var/run/containerd/containerd.sock"
    assert ctx.ca_cert_path == "/etc/kubernetes/pki/ca.crt"


def test_a_control_plane_join_uses_its_bind_port_and_downloads_certs() -> None:
    ctx = join_context(join("10.0.0.10:6443", control_plane=True), PATHS, cluster=cluster())
    assert ctx.bind_port == 7443 and ctx.download_certs
    assert ctx.etcd_data_dir == "/data/etcd"
    assert "Port-7443" in [c.name for c in join_checks(ctx, control_plane=True)]


def test_reset_context_and_the_merged_ignore_list() -> None:
    ctx = reset_context(v1beta4.ResetConfiguration(cri_socket="unix:///run/crio/crio.sock"), PATHS)
    assert ctx.cri_socket == "unix:///run/crio/crio.sock"
    options = v1beta4.NodeRegistrationOptions(ignore_preflight_errors=["Swap"])
    assert ignore_list(["NumCPU,Mem"], options) == ["NumCPU,Mem", "Swap"]
    assert ignore_list(None, None) == []
    assert PurePosixPath(str(ctx.etcd_data_dir)) == PurePosixPath("/var/lib/etcd")
