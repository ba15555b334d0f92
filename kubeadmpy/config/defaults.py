"""Defaulting, one function per kind, with kubeadm's values (reference §8, §6.1).

Each `default_*` fills the unset fields of a freshly decoded object in place and returns it.
Where a default depends on this machine (node name, advertise address) it comes from a
`NodeFacts` so that tests and `config print` can pass fixed facts.

One documented departure from kubeadm: `encryptionAlgorithm` defaults to ECDSA-P256, where
kubeadm defaults to RSA-2048. ECDSA P-256 keys are generated well over 100x faster than RSA-2048
keys (init creates a dozen; benchmarks/config_key_algorithms.py measured ~0.01 ms against ~29 ms
per key on our 2-core machines), certificates are smaller, and every Kubernetes client and etcd
accept them. Set `encryptionAlgorithm: RSA-2048` to get kubeadm's keys.
"""

from __future__ import annotations

import re
import secrets
import string
from datetime import timedelta

from kubeadmpy.config import v1alpha1, v1beta4
from kubeadmpy.config.netutil import NodeFacts
from kubeadmpy.errors import ConfigError

KUBERNETES_VERSION = "v1.33.1"  # the release whose API and behaviour kubeadmpy emulates
DEFAULT_SERVICE_SUBNET = "10.96.0.0/12"
DEFAULT_DNS_DOMAIN = "cluster.local"
DEFAULT_CERTIFICATES_DIR = "/etc/kubernetes/pki"
DEFAULT_CA_CERT_PATH = "/etc/kubernetes/pki/ca.crt"
DEFAULT_CLUSTER_NAME = "kubernetes"
DEFAULT_IMAGE_REPOSITORY = "registry.k8s.io"
LEGACY_IMAGE_REPOSITORY = "k8s.gcr.io"
DEFAULT_ETCD_DATA_DIR = "/var/lib/etcd"
DEFAULT_BIND_PORT = 6443
DEFAULT_CRI_SOCKET = "unix:///var/run/containerd/containerd.sock"
DEFAULT_IMAGE_PULL_POLICY = "IfNotPresent"
DEFAULT_ENCRYPTION_ALGORITHM = "ECDSA-P256"  # kubeadm: RSA-2048; see the module docstring
DEFAULT_CERTIFICATE_VALIDITY = timedelta(hours=8760)
DEFAULT_CA_CERTIFICATE_VALIDITY = timedelta(hours=87600)
DEFAULT_TOKEN_TTL = timedelta(hours=24)
DEFAULT_TOKEN_USAGES = ("signing", "authentication")
DEFAULT_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token"
CONTROL_PLANE_TAINT_KEY = "node-role.kubernetes.io/control-plane"
DEFAULT_TIMEOUTS = {
    "control_plane_component_health_check": timedelta(minutes=4),
    "kubelet_health_check": timedelta(minutes=4),
    "kubernetes_api_call": timedelta(minutes=1),
    "etcd_api_call": timedelta(minutes=2),
    "tls_bootstrap": timedelta(minutes=5),
    "discovery": timedelta(minutes=5),
    "upgrade_manifests": timedelta(minutes=5),
}
# Labels kubeadm resolves online (dl.k8s.io/release/<label>.txt); offline they all mean ours.
_PINNED_MINOR = ".".join(KUBERNETES_VERSION.lstrip("v").split(".")[:2])
_VERSION_LABELS = re.compile(rf"^(stable|latest)(-1|-{re.escape(_PINNED_MINOR)})?$")
_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


def generate_token() -> str:
    """A fresh bootstrap token `<6>.<16>` over [a-z0-9] from a cryptographic RNG."""
    def pick(n: int) -> str:
        return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(n))

    return f"{pick(6)}.{pick(16)}"


def resolve_kubernetes_version(value: str) -> str:
    """"stable-1"-style labels → the pinned version; "1.33.1" → "v1.33.1"; others unchanged."""
    if not value or _VERSION_LABELS.match(value):
        return KUBERNETES_VERSION
    if re.match(r"^\d+\.\d+\.\d+", value):
        return f"v{value}"
    return value


def default_timeouts(timeouts: v1beta4.Timeouts | None) -> v1beta4.Timeouts:
    result = timeouts or v1beta4.Timeouts()
    for name, value in DEFAULT_TIMEOUTS.items():
        if getattr(result, name) is None:
            setattr(result, name, value)
    return result


def default_bootstrap_token(token: v1beta4.BootstrapToken) -> v1beta4.BootstrapToken:
    token.token = token.token or generate_token()
    token.ttl = DEFAULT_TOKEN_TTL if token.ttl is None else token.ttl
    token.usages = token.usages or list(DEFAULT_TOKEN_USAGES)
    token.groups = token.groups or [DEFAULT_TOKEN_GROUP]
    return token


def control_plane_taint() -> v1beta4.Taint:
    return v1beta4.Taint(key=CONTROL_PLANE_TAINT_KEY, effect="NoSchedule")


def default_node_registration(
    options: v1beta4.NodeRegistrationOptions, facts: NodeFacts, *, control_plane: bool,
    warnings: list[str],
) -> v1beta4.NodeRegistrationOptions:
    options.name = options.name or facts.hostname.lower()
    options.cri_socket = _default_cri_socket(options.cri_socket, "nodeRegistration.criSocket",
                                             warnings)
    if options.taints is None:
        options.taints = [control_plane_taint()] if control_plane else []
    options.image_pull_policy = options.image_pull_policy or DEFAULT_IMAGE_PULL_POLICY
    options.image_pull_serial = True if options.image_pull_serial is None else options.image_pull_serial
    return options


def _default_cri_socket(value: str, field: str, warnings: list[str]) -> str:
    if not value:
        return DEFAULT_CRI_SOCKET
    if value.startswith("/"):  # kubeadm still accepts a bare path, with a deprecation warning
        warnings.append(f"{field}: {value!r} has no URL scheme; using 'unix://{value}'. "
                        "Write it as a unix:// URL")
        return f"unix://{value}"
    return value


def default_api_endpoint(endpoint: v1beta4.APIEndpoint, facts: NodeFacts, field: str,
                         warnings: list[str]) -> v1beta4.APIEndpoint:
    endpoint.bind_port = endpoint.bind_port or DEFAULT_BIND_PORT
    if not endpoint.advertise_address:
        if facts.advertise_address is None:
            raise ConfigError(
                field, "no address given and this machine has no IPv4 address on an up, "
                "non-loopback interface to use by default",
                "Set it in the config file or with --apiserver-advertise-address",
            )
        endpoint.advertise_address = facts.advertise_address
        if facts.advertise_note:
            warnings.append(facts.advertise_note)
    return endpoint


def default_init(init: v1beta4.InitConfiguration, facts: NodeFacts,
                 warnings: list[str]) -> v1beta4.InitConfiguration:
    init.bootstrap_tokens = init.bootstrap_tokens or [v1beta4.BootstrapToken()]
    for token in init.bootstrap_tokens:
        default_bootstrap_token(token)
    default_node_registration(init.node_registration, facts, control_plane=True,
                              warnings=warnings)
    default_api_endpoint(init.local_api_endpoint, facts, "localAPIEndpoint.advertiseAddress",
                         warnings)
    init.timeouts = default_timeouts(init.timeouts)
    return init


def default_cluster(cluster: v1beta4.ClusterConfiguration,
                    warnings: list[str]) -> v1beta4.ClusterConfiguration:
    if cluster.etcd.local is None and cluster.etcd.external is None:
        cluster.etcd.local = v1beta4.LocalEtcd()
    if cluster.etcd.local is not None:
        cluster.etcd.local.data_dir = cluster.etcd.local.data_dir or DEFAULT_ETCD_DATA_DIR
    networking = cluster.networking
    networking.service_subnet = networking.service_subnet or DEFAULT_SERVICE_SUBNET
    networking.dns_domain = networking.dns_domain or DEFAULT_DNS_DOMAIN
    cluster.kubernetes_version = resolve_kubernetes_version(cluster.kubernetes_version)
    cluster.certificates_dir = cluster.certificates_dir or DEFAULT_CERTIFICATES_DIR
    if cluster.image_repository == LEGACY_IMAGE_REPOSITORY:
        warnings.append(f"imageRepository: {LEGACY_IMAGE_REPOSITORY} is frozen; using "
                        f"{DEFAULT_IMAGE_REPOSITORY} instead")
        cluster.image_repository = DEFAULT_IMAGE_REPOSITORY
    cluster.image_repository = cluster.image_repository or DEFAULT_IMAGE_REPOSITORY
    cluster.cluster_name = cluster.cluster_name or DEFAULT_CLUSTER_NAME
    cluster.encryption_algorithm = cluster.encryption_algorithm or DEFAULT_ENCRYPTION_ALGORITHM
    if cluster.certificate_validity_period is None:
        cluster.certificate_validity_period = DEFAULT_CERTIFICATE_VALIDITY
    if cluster.ca_certificate_validity_period is None:
        cluster.ca_certificate_validity_period = DEFAULT_CA_CERTIFICATE_VALIDITY
    return cluster


def default_join(join: v1beta4.JoinConfiguration, facts: NodeFacts,
                 warnings: list[str]) -> v1beta4.JoinConfiguration:
    default_node_registration(join.node_registration, facts,
                              control_plane=join.control_plane is not None, warnings=warnings)
    join.ca_cert_path = join.ca_cert_path or DEFAULT_CA_CERT_PATH
    discovery = join.discovery
    if discovery.bootstrap_token is not None and not discovery.tls_bootstrap_token:
        discovery.tls_bootstrap_token = discovery.bootstrap_token.token
    if discovery.file is not None:
        discovery.file.kube_config_path = discovery.file.kube_config_path.removeprefix("file://")
    if join.control_plane is not None:
        default_api_endpoint(join.control_plane.local_api_endpoint, facts,
                             "controlPlane.localAPIEndpoint.advertiseAddress", warnings)
    join.timeouts = default_timeouts(join.timeouts)
    return join


def default_reset(reset: v1beta4.ResetConfiguration,
                  warnings: list[str]) -> v1beta4.ResetConfiguration:
    reset.certificates_dir = reset.certificates_dir or DEFAULT_CERTIFICATES_DIR
    reset.cri_socket = _default_cri_socket(reset.cri_socket, "criSocket", warnings)
    reset.timeouts = default_timeouts(reset.timeouts)
    return reset


def default_kubeadmpy(
    config: v1alpha1.KubeadmpyConfiguration,
) -> v1alpha1.KubeadmpyConfiguration:
    config.control_plane_flavor = config.control_plane_flavor or "python"
    config.network.plugin = config.network.plugin or "flannel"
    flannel = config.network.flannel
    flannel.backend = flannel.backend or "vxlan"
    flannel.vni = v1alpha1.DEFAULT_FLANNEL_VNI if flannel.vni is None else flannel.vni
    flannel.port = v1alpha1.DEFAULT_FLANNEL_PORT if flannel.port is None else flannel.port
    config.storage.csi_plugin = config.storage.csi_plugin or "hostpath"
    encryption = config.secrets_encryption
    if encryption.enabled is None:
        encryption.enabled = False
    encryption.provider = encryption.provider or v1alpha1.DEFAULT_SECRETS_ENCRYPTION_PROVIDER
    if encryption.resources is None:
        encryption.resources = list(v1alpha1.DEFAULT_SECRETS_ENCRYPTION_RESOURCES)
    return config
