"""Which checks init, join and reset run, under kubeadm's exact names."""

from __future__ import annotations

import pytest

from kubeadmpy.phases.preflight import (
    Check,
    ComponentPorts,
    ExternalEtcd,
    PreflightContext,
    address_families,
    init_checks,
    join_checks,
    reset_checks,
)

MANIFEST_CHECKS = [
    "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml",
    "FileAvailable--etc-kubernetes-manifests-kube-controller-manager.yaml",
    "FileAvailable--etc-kubernetes-manifests-kube-scheduler.yaml",
    "FileAvailable--etc-kubernetes-manifests-etcd.yaml",
]
COMMON = [
    "CRI",
    "Swap",
    "FileExisting-ip",
    "FileExisting-iptables",
    "FileExisting-mount",
    "FileExisting-nsenter",
    "FileExisting-ebtables",
    "FileExisting-ethtool",
    "FileExisting-socat",
    "FileExisting-tc",
    "FileExisting-touch",
    "SystemVerification",
    "Hostname",
    "Port-10250",
]
IPV4 = [
    "FileContent--proc-sys-net-ipv4-ip_forward",
    "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables",
]
IPV6 = [
    "FileContent--proc-sys-net-ipv6-conf-default-forwarding",
    "FileContent--proc-sys-net-bridge-bridge-nf-call-ip6tables",
]
CONTROL_PLANE = ["NumCPU", "Mem", "Port-6443", "Port-10259", "Port-10257", *MANIFEST_CHECKS]
LOCAL_ETCD = ["Port-2379", "Port-2380", "DirAvailable--var-lib-etcd"]


def names(checks: list[Check]) -> list[str]:
    return [c.name for c in checks]


def test_init_runs_kubeadms_checks_in_kubeadms_order() -> None:
    assert names(init_checks(PreflightContext())) == [
        "IsPrivilegedUser",
        *CONTROL_PLANE,
        "HTTPProxy",
        "HTTPProxyCIDR",  # the default service subnet 10.96.0.0/12
        *COMMON,
        *IPV4,
        *LOCAL_ETCD,
    ]


def test_a_worker_join_checks_for_leftover_kubelet_files_and_the_ca() -> None:
    assert names(join_checks(PreflightContext(), control_plane=False)) == [
        "IsPrivilegedUser",
        "FileAvailable--etc-kubernetes-kubelet.conf",
        "FileAvailable--etc-kubernetes-bootstrap-kubelet.conf",
        *COMMON,
        "FileAvailable--etc-kubernetes-pki-ca.crt",
        *IPV4,
    ]


def test_a_control_plane_join_adds_the_machine_checks_but_not_the_ca() -> None:
    assert names(join_checks(PreflightContext(), control_plane=True)) == [
        "IsPrivilegedUser",
        "FileAvailable--etc-kubernetes-kubelet.conf",
        "FileAvailable--etc-kubernetes-bootstrap-kubelet.conf",
        *COMMON,
        *IPV4,
        *CONTROL_PLANE,
        *LOCAL_ETCD,
    ]


def test_init_checks_the_proxy_for_every_service_and_pod_range() -> None:
    ctx = PreflightContext(
        service_subnet="10.96.0.0/12,fd00:10:96::/112", pod_subnet="10.244.0.0/16"
    )
    assert names(init_checks(ctx)).count("HTTPProxyCIDR") == 3


@pytest.mark.parametrize(
    ("endpoint", "proxy_checked"),
    [("10.0.0.10:6443", True), ("[fd00::10]:6443", True), ("", False), ("10.0.0.10", False)],
    ids=["an IPv4 endpoint", "an IPv6 endpoint", "no endpoint", "an endpoint without a port"],
)
def test_a_join_checks_the_proxy_for_its_discovery_endpoint(
    endpoint: str, proxy_checked: bool
) -> None:
    ctx = PreflightContext(discovery_endpoint=endpoint)
    assert ("HTTPProxy" in names(join_checks(ctx, control_plane=False))) is proxy_checked


def test_reset_only_needs_root() -> None:
    assert names(reset_checks(PreflightContext())) == ["IsPrivilegedUser"]


@pytest.mark.parametrize(
    ("ipv4", "ipv6", "expected"),
    [(True, False, IPV4), (False, True, IPV6), (True, True, IPV4 + IPV6), (False, False, [])],
    ids=["single-stack IPv4", "single-stack IPv6", "dual-stack", "no address known"],
)
def test_forwarding_checks_follow_the_address_families(
    ipv4: bool, ipv6: bool, expected: list[str]
) -> None:
    found = names(init_checks(PreflightContext(is_ipv4=ipv4, is_ipv6=ipv6)))
    assert [n for n in found if n.startswith("FileContent")] == expected


EXTERNAL = ExternalEtcd(
    endpoints=("https://10.0.0.5:2379",),
    ca_file="/etc/etcd/ca.crt",
    cert_file="/etc/etcd/client.crt",
    key_file="/etc/etcd/client.key",
)


def test_external_etcd_checks_its_client_files_instead_of_local_etcd_ports() -> None:
    found = names(init_checks(PreflightContext(external_etcd=EXTERNAL)))
    assert found[-3:] == ["ExternalEtcdClientCertificates"] * 3
    assert not set(LOCAL_ETCD) & set(found)


def test_a_control_plane_join_downloading_certs_skips_the_external_etcd_files() -> None:
    ctx = PreflightContext(external_etcd=EXTERNAL, download_certs=True)
    assert "ExternalEtcdClientCertificates" not in names(join_checks(ctx, control_plane=True))


def test_overridden_ports_and_paths_change_the_check_names() -> None:
    ctx = PreflightContext(
        bind_port=16443,
        ports=ComponentPorts(
            scheduler=20259, controller_manager=20257, kubelet=20250,
            etcd_client=22379, etcd_peer=22380,
        ),
        etcd_data_dir="/data/etcd",
        ca_cert_path="/srv/pki/ca.crt",
    )  # fmt: skip
    init = names(init_checks(ctx))
    for name in ["Port-16443", "Port-20259", "Port-20257", "Port-20250", "Port-22379",
                 "Port-22380", "DirAvailable--data-etcd"]:  # fmt: skip
        assert name in init
    assert "FileAvailable--srv-pki-ca.crt" in names(join_checks(ctx, control_plane=False))


@pytest.mark.parametrize(
    ("addresses", "families"),
    [
        (["10.0.0.10", "10.96.0.0/12", "10.244.0.0/16"], (True, False)),
        (["fd00::10", "fd00:10:96::/112"], (False, True)),
        (["10.0.0.10", "10.96.0.0/12,fd00:10:96::/112"], (True, True)),
        (["[fd00::1]"], (False, True)),
        (["", "not-an-address"], (False, False)),
    ],
    ids=["IPv4 only", "IPv6 only", "a dual-stack service subnet", "a bracketed IPv6", "junk"],
)
def test_address_families_of_addresses_and_cidrs(
    addresses: list[str], families: tuple[bool, bool]
) -> None:
    assert address_families(addresses) == families
