"""Explicit inputs of the control-plane renderers.

The config module maps a ClusterConfiguration/InitConfiguration onto these frozen dataclasses;
the renderers never read config documents, the environment or the host. Host facts that kubeadm
looks up while rendering (proxy variables, which CA folders exist) are fields here, with helpers
in `kubeadmpy.render.hostfacts` for the caller to fill them.

Where the fields come from (kubeadm v1beta4 / KubeadmpyConfiguration):
  flavor ← controlPlaneFlavor; kubernetes_version, image_repository, cluster_name,
  certificates_dir ← ClusterConfiguration; advertise_address, bind_port ← localAPIEndpoint;
  node_name ← nodeRegistration.name; service_subnet, pod_subnet, dns_domain ← networking;
  etcd ← etcd.local (dataDir, imageRepository, imageTag, extraArgs, extraEnvs) or etcd.external;
  api_server, controller_manager, scheduler ← extraArgs / extraVolumes / extraEnvs of each;
  health_check_timeout_seconds ← timeouts.controlPlaneComponentHealthCheck;
  encryption_provider_config ← secretsEncryption.enabled (the file init writes, or "").
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal

from kubeadmpy.errors import ConfigError
from kubeadmpy.render.arguments import Arg, check_extra_args
from kubeadmpy.render.versions import KubernetesVersion, parse_kubernetes_version

Flavor = Literal["python", "upstream"]
HostPathType = Literal["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                       "CharDevice", "BlockDevice"]

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")


@dataclass(frozen=True)
class HostPathMount:
    """kubeadm's HostPathMount: a host path mounted into a control-plane container."""

    name: str
    host_path: str
    mount_path: str
    read_only: bool = False
    path_type: HostPathType = ""


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str


@dataclass(frozen=True)
class ComponentExtras:
    """What a user adds to one component: extraArgs, extraVolumes, extraEnvs."""

    extra_args: tuple[Arg, ...] = ()
    extra_volumes: tuple[HostPathMount, ...] = ()
    extra_envs: tuple[EnvVar, ...] = ()


@dataclass(frozen=True)
class EtcdMember:
    """An existing etcd member, for the ``--initial-cluster`` of a joining control plane."""

    name: str
    peer_url: str


@dataclass(frozen=True)
class LocalEtcd:
    """A stacked etcd run as a static pod on this machine."""

    data_dir: str = "/var/lib/etcd"
    image_repository: str = ""  # "" → the cluster's imageRepository
    image_tag: str = ""  # "" → the tag kubeadm pairs with the Kubernetes minor
    extras: ComponentExtras = ComponentExtras()
    # Set when joining an existing etcd cluster: the members in etcd's order (as the member-add
    # answer lists them); this node is appended unless the list already names it.
    join_members: tuple[EtcdMember, ...] = ()


@dataclass(frozen=True)
class ExternalEtcd:
    """An etcd cluster run elsewhere; the apiserver gets its endpoints and client files."""

    endpoints: tuple[str, ...]
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


@dataclass(frozen=True)
class ControlPlaneValues:
    """Everything the four control-plane static pods are computed from."""

    flavor: Flavor
    kubernetes_version: str
    advertise_address: str
    node_name: str
    bind_port: int = 6443
    image_repository: str = "registry.k8s.io"
    python_image: str = "kubeadmpy.local/control-plane:v0.1.0"
    cluster_name: str = "kubernetes"
    service_subnet: str = "10.96.0.0/12"
    pod_subnet: str = ""
    dns_domain: str = "cluster.local"
    certificates_dir: str = "/etc/kubernetes/pki"
    etcd: LocalEtcd | ExternalEtcd = field(default_factory=LocalEtcd)
    api_server: ComponentExtras = ComponentExtras()
    controller_manager: ComponentExtras = ComponentExtras()
    scheduler: ComponentExtras = ComponentExtras()
    # Kubernetes feature gates for apiserver, controller-manager and scheduler (--feature-gates);
    # an explicit feature-gates extraArg of a component still wins.
    feature_gates: tuple[tuple[str, bool], ...] = ()
    # Host folders mounted read-only into every python-flavor pod (e.g. the Python prefix), so
    # the image can stay small; ignored by the upstream flavor.
    extra_host_volumes: tuple[HostPathMount, ...] = ()
    # kubeadm's ClusterConfiguration "controlPlaneComponentHealthCheck" (startup probe budget).
    health_check_timeout_seconds: int = 240
    # *_proxy variables kubeadm copies from its own environment (see hostfacts.proxy_env).
    proxy_env: tuple[EnvVar, ...] = ()
    # Distribution CA folders present on the host (see hostfacts.present_ca_cert_dirs).
    ca_cert_dirs: tuple[str, ...] = ()
    # True when ca.key is absent (external CA): the controller-manager gets no signing files.
    external_ca: bool = False
    # The EncryptionConfiguration the apiserver reads (--encryption-provider-config, its folder
    # mounted read-only); "" when Secrets are not encrypted at rest.
    encryption_provider_config: str = ""

    @property
    def version(self) -> KubernetesVersion:
        return parse_kubernetes_version(self.kubernetes_version)

    @property
    def is_ipv6(self) -> bool:
        return ipaddress.ip_address(self.advertise_address).version == 6


def validate_control_plane_values(values: ControlPlaneValues) -> None:
    """Reject values no manifest could be made from, naming the config field and the fix."""
    if values.flavor not in ("python", "upstream"):
        raise ConfigError("controlPlaneFlavor", f"{values.flavor!r} is not a flavor",
                          "use 'python' or 'upstream'")
    parse_kubernetes_version(values.kubernetes_version)
    if values.flavor == "python" and not values.python_image.strip():
        raise ConfigError("pythonImage", "is empty",
                          "name the locally built control-plane image, e.g. "
                          "kubeadmpy.local/control-plane:v0.1.0")
    if values.flavor == "upstream" and not values.image_repository.strip():
        raise ConfigError("imageRepository", "is empty", "use registry.k8s.io or your mirror")
    _check_ip(values.advertise_address, "localAPIEndpoint.advertiseAddress")
    if not 1 <= values.bind_port <= 65535:
        raise ConfigError("localAPIEndpoint.bindPort", f"{values.bind_port} is not a port",
                          "use a port from 1 to 65535")
    if not _DNS_SUBDOMAIN.fullmatch(values.node_name) or len(values.node_name) > 253:
        raise ConfigError("nodeRegistration.name", f"{values.node_name!r} is not a valid node name",
                          "use lowercase letters, digits, '-' and '.'")
    for index, subnet in enumerate(values.service_subnet.split(",")):
        _check_cidr(subnet, f"networking.serviceSubnet[{index}]")
    if values.pod_subnet:
        for index, subnet in enumerate(values.pod_subnet.split(",")):
            _check_cidr(subnet, f"networking.podSubnet[{index}]")
    if not _DNS_SUBDOMAIN.fullmatch(values.dns_domain):
        raise ConfigError("networking.dnsDomain", f"{values.dns_domain!r} is not a DNS domain",
                          "use a name such as cluster.local")
    if not values.certificates_dir.startswith("/"):
        raise ConfigError("certificatesDir", f"{values.certificates_dir!r} is not absolute",
                          "give an absolute path such as /etc/kubernetes/pki")
    if values.health_check_timeout_seconds <= 0:
        raise ConfigError("timeouts.controlPlaneComponentHealthCheck",
                          f"{values.health_check_timeout_seconds}s is not positive",
                          "use a duration such as 4m0s")
    for name, extras in (("apiServer", values.api_server),
                         ("controllerManager", values.controller_manager),
                         ("scheduler", values.scheduler)):
        _check_extras(extras, name)
    if isinstance(values.etcd, LocalEtcd):
        _check_extras(values.etcd.extras, "etcd.local")
        if not values.etcd.data_dir.startswith("/"):
            raise ConfigError("etcd.local.dataDir", f"{values.etcd.data_dir!r} is not absolute",
                              "give an absolute path such as /var/lib/etcd")
    elif not values.etcd.endpoints:
        raise ConfigError("etcd.external.endpoints", "is empty", "list at least one etcd URL")
    for index, volume in enumerate(values.extra_host_volumes):
        _check_volume(volume, f"extraHostVolumes[{index}]")
    config = values.encryption_provider_config
    if config and (not config.startswith("/") or config.endswith("/")):
        raise ConfigError("encryptionProviderConfig", f"{config!r} is not an absolute file path",
                          "give the path of a file, such as /etc/kubernetes/encryption/config.yaml")


def _check_extras(extras: ComponentExtras, component: str) -> None:
    check_extra_args(extras.extra_args, f"{component}.extraArgs")
    for index, volume in enumerate(extras.extra_volumes):
        _check_volume(volume, f"{component}.extraVolumes[{index}]")
    for index, env in enumerate(extras.extra_envs):
        if not _ENV_NAME.fullmatch(env.name):
            raise ConfigError(f"{component}.extraEnvs[{index}].name",
                              f"{env.name!r} is not an environment variable name",
                              "use letters, digits, '_', '-' or '.', not starting with a digit")


def _check_volume(volume: HostPathMount, where: str) -> None:
    if not _DNS_LABEL.fullmatch(volume.name) or len(volume.name) > 63:
        raise ConfigError(f"{where}.name", f"{volume.name!r} is not a volume name",
                          "use lowercase letters, digits and '-' (at most 63)")
    for key, path in (("hostPath", volume.host_path), ("mountPath", volume.mount_path)):
        if not path.startswith("/"):
            raise ConfigError(f"{where}.{key}", f"{path!r} is not absolute",
                              "give an absolute path")


def _check_ip(text: str, field_name: str) -> None:
    try:
        ipaddress.ip_address(text)
    except ValueError as exc:
        raise ConfigError(field_name, f"{text!r} is not an IP address",
                          "give an IPv4 or IPv6 address of this machine") from exc


def _check_cidr(text: str, field_name: str) -> None:
    try:
        ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        raise ConfigError(field_name, f"{text!r} is not a CIDR ({exc})",
                          "write it like 10.96.0.0/12") from exc
