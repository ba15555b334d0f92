"""Typed models of kubeadm's configuration API, group/version kubeadm.k8s.io/v1beta4.

Field names are the snake_case of upstream's JSON names (the codec maps them back), so a
kubeadm config file loads here unchanged and our printed files load in kubeadm. Optional fields
typed `X | None` are Go pointers: None means "not set" and is defaulted later (defaults.py); that
is how `taints: null` (control-plane taint by default) differs from `taints: []` (no taints).
Fields marked ALWAYS have no `omitempty` upstream and are printed even when empty.
UpgradeConfiguration is accepted and kept as a raw dict (no kubeadmpy command uses it yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from kubeadmpy.config.codec import ALWAYS

GROUP = "kubeadm.k8s.io"
API_VERSION = f"{GROUP}/v1beta4"


@dataclass(kw_only=True)
class Arg:
    """One `--name=value` of a component; v1beta4 keeps duplicates and order."""

    name: str = field(default="", metadata=ALWAYS)
    value: str = field(default="", metadata=ALWAYS)


@dataclass(kw_only=True)
class EnvVar:
    """A container environment variable (corev1.EnvVar; valueFrom kept raw)."""

    name: str = field(default="", metadata=ALWAYS)
    value: str = ""
    value_from: dict[str, Any] | None = None


@dataclass(kw_only=True)
class HostPathMount:
    """An extra hostPath volume for a control-plane static pod."""

    name: str = field(default="", metadata=ALWAYS)
    host_path: str = field(default="", metadata=ALWAYS)
    mount_path: str = field(default="", metadata=ALWAYS)
    read_only: bool = False
    path_type: str = ""


@dataclass(kw_only=True)
class Taint:
    key: str = ""
    value: str = ""
    effect: str = ""
    time_added: datetime | None = None


@dataclass(kw_only=True)
class BootstrapToken:
    """A bootstrap token `<id>.<secret>` that init creates (bootstraptoken/v1 BootstrapToken)."""

    token: str = ""
    description: str = ""
    ttl: timedelta | None = None
    expires: datetime | None = None
    usages: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    @property
    def token_id(self) -> str:
        return self.token.partition(".")[0]


@dataclass(kw_only=True)
class NodeRegistrationOptions:
    name: str = ""
    cri_socket: str = ""
    # None -> control-plane taint on control-plane nodes; [] -> explicitly no taints.
    taints: list[Taint] | None = field(default=None, metadata=ALWAYS)
    kubelet_extra_args: list[Arg] = field(default_factory=list)
    ignore_preflight_errors: list[str] = field(default_factory=list)
    image_pull_policy: str = ""
    image_pull_serial: bool | None = None


@dataclass(kw_only=True)
class APIEndpoint:
    advertise_address: str = ""
    bind_port: int = 0


@dataclass(kw_only=True)
class Patches:
    directory: str = ""


@dataclass(kw_only=True)
class Timeouts:
    control_plane_component_health_check: timedelta | None = None
    kubelet_health_check: timedelta | None = None
    kubernetes_api_call: timedelta | None = None
    etcd_api_call: timedelta | None = None
    tls_bootstrap: timedelta | None = None
    discovery: timedelta | None = None
    upgrade_manifests: timedelta | None = None


@dataclass(kw_only=True)
class InitConfiguration:
    KIND: ClassVar[str] = "InitConfiguration"

    bootstrap_tokens: list[BootstrapToken] = field(default_factory=list)
    dry_run: bool = False
    node_registration: NodeRegistrationOptions = field(default_factory=NodeRegistrationOptions)
    local_api_endpoint: APIEndpoint = field(default_factory=APIEndpoint)
    certificate_key: str = ""
    skip_phases: list[str] = field(default_factory=list)
    patches: Patches | None = None
    timeouts: Timeouts | None = None


@dataclass(kw_only=True)
class LocalEtcd:
    image_repository: str = ""
    image_tag: str = ""
    data_dir: str = field(default="", metadata=ALWAYS)
    extra_args: list[Arg] = field(default_factory=list)
    extra_envs: list[EnvVar] = field(default_factory=list)
    server_cert_sans: list[str] = field(default_factory=list)
    peer_cert_sans: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class ExternalEtcd:
    endpoints: list[str] = field(default_factory=list, metadata=ALWAYS)
    ca_file: str = field(default="", metadata=ALWAYS)
    cert_file: str = field(default="", metadata=ALWAYS)
    key_file: str = field(default="", metadata=ALWAYS)


@dataclass(kw_only=True)
class Etcd:
    local: LocalEtcd | None = None
    external: ExternalEtcd | None = None


@dataclass(kw_only=True)
class Networking:
    service_subnet: str = ""
    pod_subnet: str = ""
    dns_domain: str = ""


@dataclass(kw_only=True)
class ControlPlaneComponent:
    extra_args: list[Arg] = field(default_factory=list)
    extra_volumes: list[HostPathMount] = field(default_factory=list)
    extra_envs: list[EnvVar] = field(default_factory=list)


@dataclass(kw_only=True)
class APIServer(ControlPlaneComponent):
    cert_sans: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class DNS:
    image_repository: str = ""
    image_tag: str = ""
    disabled: bool = False


@dataclass(kw_only=True)
class Proxy:
    disabled: bool = False


@dataclass(kw_only=True)
class ClusterConfiguration:
    KIND: ClassVar[str] = "ClusterConfiguration"

    etcd: Etcd = field(default_factory=Etcd)
    networking: Networking = field(default_factory=Networking)
    kubernetes_version: str = ""
    control_plane_endpoint: str = ""
    api_server: APIServer = field(default_factory=APIServer)
    controller_manager: ControlPlaneComponent = field(default_factory=ControlPlaneComponent)
    scheduler: ControlPlaneComponent = field(default_factory=ControlPlaneComponent)
    dns: DNS = field(default_factory=DNS)
    proxy: Proxy = field(default_factory=Proxy)
    certificates_dir: str = ""
    image_repository: str = ""
    feature_gates: dict[str, bool] = field(default_factory=dict)
    cluster_name: str = ""
    encryption_algorithm: str = ""
    certificate_validity_period: timedelta | None = None
    ca_certificate_validity_period: timedelta | None = None


@dataclass(kw_only=True)
class BootstrapTokenDiscovery:
    token: str = field(default="", metadata=ALWAYS)
    api_server_endpoint: str = ""
    ca_cert_hashes: list[str] = field(default_factory=list)
    unsafe_skip_ca_verification: bool = False


@dataclass(kw_only=True)
class FileDiscovery:
    kube_config_path: str = field(default="", metadata=ALWAYS)


@dataclass(kw_only=True)
class Discovery:
    bootstrap_token: BootstrapTokenDiscovery | None = None
    file: FileDiscovery | None = None
    tls_bootstrap_token: str = ""


@dataclass(kw_only=True)
class JoinControlPlane:
    local_api_endpoint: APIEndpoint = field(default_factory=APIEndpoint)
    certificate_key: str = ""


@dataclass(kw_only=True)
class JoinConfiguration:
    KIND: ClassVar[str] = "JoinConfiguration"

    dry_run: bool = False
    node_registration: NodeRegistrationOptions = field(default_factory=NodeRegistrationOptions)
    ca_cert_path: str = ""
    discovery: Discovery = field(default_factory=Discovery)
    control_plane: JoinControlPlane | None = None  # None: this node joins as a worker
    skip_phases: list[str] = field(default_factory=list)
    patches: Patches | None = None
    timeouts: Timeouts | None = None


@dataclass(kw_only=True)
class ResetConfiguration:
    KIND: ClassVar[str] = "ResetConfiguration"

    cleanup_tmp_dir: bool = False
    certificates_dir: str = ""
    cri_socket: str = ""
    dry_run: bool = False
    force: bool = False
    ignore_preflight_errors: list[str] = field(default_factory=list)
    skip_phases: list[str] = field(default_factory=list)
    unmount_flags: list[str] = field(default_factory=list)
    timeouts: Timeouts | None = None


KINDS: dict[str, type[Any]] = {
    cls.KIND: cls
    for cls in (InitConfiguration, ClusterConfiguration, JoinConfiguration, ResetConfiguration)
}
RAW_KINDS = frozenset({"UpgradeConfiguration"})
