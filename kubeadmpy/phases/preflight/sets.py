"""Which checks run for `init`, `join` and `reset`, in kubeadm's order, as plain lists.

Order matters only for output; it follows kubeadm so users see familiar lines in a familiar
place. Not implemented here (no systemd, no upstream kubelet binary, or network calls we do not
make from preflight): Firewalld, KubeletVersion, Service-Kubelet, ExternalEtcdVersion and
ImagePull.
"""

from __future__ import annotations

from kubeadmpy.config.defaults import KUBERNETES_VERSION
from kubeadmpy.paths import KUBERNETES_DIR, MANIFESTS_DIR
from kubeadmpy.phases.preflight import checks, proxy
from kubeadmpy.phases.preflight.check import Check
from kubeadmpy.phases.preflight.context import PreflightContext
from kubeadmpy.phases.preflight.system import system_verification

STATIC_POD_MANIFESTS = (
    "kube-apiserver.yaml",
    "kube-controller-manager.yaml",
    "kube-scheduler.yaml",
    "etcd.yaml",
)
IPV4_FORWARD = "/proc/sys/net/ipv4/ip_forward"
IPV6_FORWARD = "/proc/sys/net/ipv6/conf/default/forwarding"
# Only in older kubeadm releases; kept because br_netfilter off silently breaks Service traffic
# that crosses the flannel bridge.
BRIDGE_NF_IPTABLES = "/proc/sys/net/bridge/bridge-nf-call-iptables"
BRIDGE_NF_IP6TABLES = "/proc/sys/net/bridge/bridge-nf-call-ip6tables"


def _common(ctx: PreflightContext) -> list[Check]:
    """Checks every node runs, control plane or worker."""
    return [
        checks.container_runtime(ctx.paths, ctx.cri_socket),
        checks.swap(ctx.proc_root),
        *checks.executables(ctx.search_path, ctx.kubernetes_version),
        system_verification(ctx.proc_root, ctx.sys_root),
        checks.hostname(ctx),
        checks.port_open(ctx.ports.kubelet),
    ]


def _forwarding(ctx: PreflightContext, ipv4: bool, ipv6: bool) -> list[Check]:
    result: list[Check] = []
    if ipv4:
        result += [
            checks.proc_file_content(ctx.proc_root, IPV4_FORWARD),
            checks.proc_file_content(ctx.proc_root, BRIDGE_NF_IPTABLES),
        ]
    if ipv6:
        result += [
            checks.proc_file_content(ctx.proc_root, IPV6_FORWARD),
            checks.proc_file_content(ctx.proc_root, BRIDGE_NF_IP6TABLES),
        ]
    return result


def _control_plane(ctx: PreflightContext, *, first: bool) -> list[Check]:
    """Resources, ports and leftovers of a control-plane machine (init and control-plane join)."""
    version = [checks.kubernetes_version(ctx.kubernetes_version, KUBERNETES_VERSION)]
    return [
        checks.num_cpu(ctx.sys_root),
        checks.memory(ctx.proc_root),
        *(version if first and ctx.kubernetes_version else []),
        checks.port_open(ctx.bind_port),
        checks.port_open(ctx.ports.scheduler),
        checks.port_open(ctx.ports.controller_manager),
        *[checks.file_available(ctx.paths, MANIFESTS_DIR / m) for m in STATIC_POD_MANIFESTS],
    ]


def _etcd(ctx: PreflightContext, joining: bool) -> list[Check]:
    if ctx.external_etcd is None:
        return [
            checks.port_open(ctx.ports.etcd_client),
            checks.port_open(ctx.ports.etcd_peer),
            checks.dir_available(ctx.paths, ctx.etcd_data_dir),
        ]
    if joining and ctx.download_certs:
        return []  # the certificates arrive with the kubeadm-certs Secret
    etcd = ctx.external_etcd
    return [
        checks.file_existing(ctx.paths, path, name="ExternalEtcdClientCertificates")
        for path in (etcd.ca_file, etcd.cert_file, etcd.key_file)
        if path
    ]


def _proxies(ctx: PreflightContext) -> list[Check]:
    ranges = [
        cidr.strip()
        for subnet in (ctx.service_subnet, ctx.pod_subnet)
        for cidr in subnet.split(",")
        if cidr.strip()
    ]
    return [
        proxy.http_proxy(ctx.advertise_address, ctx.environ),
        *[proxy.http_proxy_cidr(cidr, ctx.environ) for cidr in ranges],
    ]


def init_checks(ctx: PreflightContext) -> list[Check]:
    """Checks of `kubeadmpy init`, the first control-plane machine."""
    return [
        checks.privileged_user(),
        *_control_plane(ctx, first=True),
        *_proxies(ctx),
        *_common(ctx),
        *_forwarding(ctx, ctx.is_ipv4, ctx.is_ipv6),
        *_etcd(ctx, joining=False),
    ]


def join_checks(ctx: PreflightContext, control_plane: bool) -> list[Check]:
    """Checks of `kubeadmpy join`; a control-plane join adds the init-style machine checks."""
    result = [
        checks.privileged_user(),
        checks.file_available(ctx.paths, KUBERNETES_DIR / "kubelet.conf"),
        checks.file_available(ctx.paths, KUBERNETES_DIR / "bootstrap-kubelet.conf"),
        *_common(ctx),
    ]
    if not control_plane:
        result.append(checks.file_available(ctx.paths, ctx.ca_cert_path))
    if ctx.discovery_host:
        result.append(proxy.http_proxy(ctx.discovery_host, ctx.environ))
    result += _forwarding(ctx, ctx.is_ipv4, ctx.is_ipv6)
    if control_plane:
        result += [*_control_plane(ctx, first=False), *_etcd(ctx, joining=True)]
    return result


def reset_checks(ctx: PreflightContext) -> list[Check]:
    """`kubeadmpy reset` only needs root; everything else it does is best-effort."""
    return [checks.privileged_user()]
