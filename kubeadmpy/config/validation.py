"""Validation, one function per kind: every problem found, each naming field, value and fix.

Validators run on defaulted objects and return `FieldProblem`s (the loader adds the document they
came from and raises one ConfigError listing them all); findings that kubeadm only warns about are
appended to `warnings` instead. Limits follow kubeadm (reference §0, §6.1, §8, §10).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

from kubeadmpy.config import defaults, v1alpha1, v1beta4
from kubeadmpy.config.codec import FieldProblem, json_name
from kubeadmpy.config.durations import format_go_duration
from kubeadmpy.config.netutil import (
    is_dns1123_subdomain,
    is_ip,
    parse_cidrs,
    split_host_port,
)

TOKEN_FORMAT = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
TOKEN_GROUP_FORMAT = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")
CA_CERT_HASH_FORMAT = re.compile(r"^sha256:[0-9a-f]{64}$", re.IGNORECASE)
CERTIFICATE_KEY_FORMAT = re.compile(r"^[0-9a-fA-F]{64}$")
KUBERNETES_VERSION_FORMAT = re.compile(r"^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
TOKEN_USAGES = ("signing", "authentication")
ENCRYPTION_ALGORITHMS = ("RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384")
IMAGE_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
HOST_PATH_TYPES = ("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                   "CharDevice", "BlockDevice")
UNMOUNT_FLAGS = ("MNT_FORCE", "MNT_DETACH", "MNT_EXPIRE", "UMOUNT_NOFOLLOW")
FEATURE_GATES = ("ControlPlaneKubeletLocalMode", "EtcdLearnerMode", "NodeLocalCRISocket",
                 "PublicKeysECDSA", "RootlessControlPlane", "WaitForAllControlPlaneComponents")
MIN_SERVICE_ADDRESSES = 10
MAX_SERVICE_SUBNET_BITS = 20  # so at most /12 for IPv4 and /108 for IPv6
MIN_MTU, MAX_MTU = 576, 65535
MAX_VXLAN_VNI = 2**24 - 1
RESOURCE_NAME_FORMAT = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # a DNS label

Problems = list[FieldProblem]


def _one_of(path: str, value: str, allowed: Iterable[str], problems: Problems) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed if a)
        problems.append(FieldProblem(path, f"{value!r} is not supported", f"Use one of {choices}"))


def _in_range(path: str, value: int, low: int, high: int, problems: Problems) -> None:
    if not low <= value <= high:
        problems.append(FieldProblem(path, f"{value} is out of range",
                                     f"Use a number from {low} to {high}"))


def _absolute(path: str, value: str, problems: Problems) -> None:
    if not value.startswith("/"):
        problems.append(FieldProblem(path, f"{value!r} is not an absolute path",
                                     "Give a path starting with '/'"))


def _positive(path: str, value: timedelta | None, problems: Problems) -> None:
    if value is not None and value <= timedelta(0):
        problems.append(FieldProblem(path, f"{format_go_duration(value)} is not positive",
                                     'Give a duration greater than zero, such as "5m"'))


def validate_token(path: str, token: str, problems: Problems) -> None:
    if not TOKEN_FORMAT.match(token):
        problems.append(FieldProblem(
            path, f"{token!r} is not a bootstrap token",
            "A token is 6 then 16 characters of [a-z0-9] joined by a dot, like "
            "'abcdef.0123456789abcdef'; `kubeadmpy token generate` prints one"))


def validate_ignore_preflight_errors(path: str, names: list[str], problems: Problems) -> None:
    lowered = {name.lower() for name in names}
    if "all" in lowered and len(lowered) > 1:
        problems.append(FieldProblem(path, f"{names} combines 'all' with other checks",
                                     "Give either 'all' alone or a list of check names"))


def _cri_socket(path: str, value: str, problems: Problems) -> None:
    parts = urlsplit(value)
    if parts.scheme != "unix" or parts.netloc or not parts.path.startswith("/"):
        problems.append(FieldProblem(path, f"{value!r} is not a unix socket URL",
                                     f"Write it like {defaults.DEFAULT_CRI_SOCKET!r}"))


def _args(path: str, args: list[v1beta4.Arg], problems: Problems) -> None:
    for i, arg in enumerate(args):
        if not arg.name or arg.name.startswith("-"):
            problems.append(FieldProblem(f"{path}[{i}].name", f"{arg.name!r} is not a flag name",
                                         "Give the flag name without leading dashes, e.g. "
                                         "name: v, value: '2'"))


def _volumes(path: str, volumes: list[v1beta4.HostPathMount], problems: Problems) -> None:
    for i, volume in enumerate(volumes):
        where = f"{path}[{i}]"
        if not volume.name:
            problems.append(FieldProblem(f"{where}.name", "is empty", "Name the volume"))
        _absolute(f"{where}.hostPath", volume.host_path, problems)
        _absolute(f"{where}.mountPath", volume.mount_path, problems)
        _one_of(f"{where}.pathType", volume.path_type, HOST_PATH_TYPES, problems)


def _cert_sans(path: str, sans: list[str], problems: Problems) -> None:
    for i, san in enumerate(sans):
        if not (is_ip(san) or is_dns1123_subdomain(san.removeprefix("*."))):
            problems.append(FieldProblem(f"{path}[{i}]", f"{san!r} is not an IP address or DNS "
                                         "name", "Give an IP, a DNS name or a *.wildcard name"))


def _node_registration(path: str, options: v1beta4.NodeRegistrationOptions,
                       problems: Problems) -> None:
    if not is_dns1123_subdomain(options.name):
        problems.append(FieldProblem(
            f"{path}.name", f"{options.name!r} is not a valid node name",
            "Use lower-case letters, digits, '-' and '.', starting and ending with a letter "
            "or digit (set it with --node-name)"))
    _cri_socket(f"{path}.criSocket", options.cri_socket, problems)
    for i, taint in enumerate(options.taints or []):
        if not taint.key:
            problems.append(FieldProblem(f"{path}.taints[{i}].key", "is empty", "Give a key"))
        _one_of(f"{path}.taints[{i}].effect", taint.effect, TAINT_EFFECTS, problems)
    _args(f"{path}.kubeletExtraArgs", options.kubelet_extra_args, problems)
    validate_ignore_preflight_errors(f"{path}.ignorePreflightErrors",
                                     options.ignore_preflight_errors, problems)
    _one_of(f"{path}.imagePullPolicy", options.image_pull_policy, IMAGE_PULL_POLICIES, problems)


def _api_endpoint(path: str, endpoint: v1beta4.APIEndpoint, problems: Problems) -> None:
    if not is_ip(endpoint.advertise_address):
        problems.append(FieldProblem(f"{path}.advertiseAddress",
                                     f"{endpoint.advertise_address!r} is not an IP address",
                                     "Give this node's IPv4 or IPv6 address, e.g. 192.168.1.10"))
    _in_range(f"{path}.bindPort", endpoint.bind_port, 1, 65535, problems)


def _timeouts(path: str, timeouts: v1beta4.Timeouts | None, problems: Problems) -> None:
    if timeouts is not None:
        for field in dataclasses.fields(timeouts):
            _positive(f"{path}.{json_name(field)}", getattr(timeouts, field.name), problems)


def _certificate_key(path: str, key: str, problems: Problems) -> None:
    if key and not CERTIFICATE_KEY_FORMAT.match(key):
        problems.append(FieldProblem(path, "is not 64 hexadecimal characters (32 bytes)",
                                     "Use the key printed by `kubeadmpy init --upload-certs` or "
                                     "`kubeadmpy certs certificate-key`"))


def validate_init(init: v1beta4.InitConfiguration) -> Problems:
    problems: Problems = []
    for i, token in enumerate(init.bootstrap_tokens):
        where = f"bootstrapTokens[{i}]"
        validate_token(f"{where}.token", token.token, problems)
        if token.ttl is not None and token.ttl < timedelta(0):
            problems.append(FieldProblem(f"{where}.ttl", f"{format_go_duration(token.ttl)} is "
                                         "negative", 'Give "0s" for a token that never expires'))
        for j, usage in enumerate(token.usages):
            _one_of(f"{where}.usages[{j}]", usage, TOKEN_USAGES, problems)
        for j, group in enumerate(token.groups):
            if not TOKEN_GROUP_FORMAT.match(group):
                problems.append(FieldProblem(f"{where}.groups[{j}]", f"{group!r} is not a "
                                             "bootstrap group", "Groups must look like "
                                             f"'{defaults.DEFAULT_TOKEN_GROUP}'"))
    _node_registration("nodeRegistration", init.node_registration, problems)
    _api_endpoint("localAPIEndpoint", init.local_api_endpoint, problems)
    _certificate_key("certificateKey", init.certificate_key, problems)
    _timeouts("timeouts", init.timeouts, problems)
    return problems


def _cidr_list(path: str, value: str, problems: Problems) -> list[ipaddress.IPv4Network
                                                               | ipaddress.IPv6Network]:
    try:
        networks = parse_cidrs(value)
    except ValueError as exc:
        problems.append(FieldProblem(path, str(exc), "Give a CIDR such as 10.244.0.0/16, or an "
                                     "IPv4 and an IPv6 CIDR separated by a comma"))
        return []
    if len(networks) > 2 or (len(networks) == 2 and networks[0].version == networks[1].version):
        problems.append(FieldProblem(path, f"{value!r} is not single- or dual-stack",
                                     "Give one CIDR, or one IPv4 and one IPv6 CIDR"))
        return []
    return networks


def _networking(networking: v1beta4.Networking, problems: Problems,
                warnings: list[str]) -> None:
    services = _cidr_list("networking.serviceSubnet", networking.service_subnet, problems)
    for network in services:
        too_large = network.max_prefixlen - network.prefixlen > MAX_SERVICE_SUBNET_BITS
        if network.num_addresses < MIN_SERVICE_ADDRESSES or too_large:
            largest = network.max_prefixlen - MAX_SERVICE_SUBNET_BITS
            problems.append(FieldProblem(
                "networking.serviceSubnet", f"{network} is too {'large' if too_large else 'small'}",
                f"Use a prefix from /{largest} to /{network.max_prefixlen - 4}"))
    pods = (_cidr_list("networking.podSubnet", networking.pod_subnet, problems)
            if networking.pod_subnet else [])
    for pod in pods:
        for service in services:
            if pod.version == service.version and pod.overlaps(service):
                warnings.append(f"networking.podSubnet {pod} overlaps serviceSubnet {service}; "
                                "pods and Services will collide")
    if not is_dns1123_subdomain(networking.dns_domain):
        problems.append(FieldProblem("networking.dnsDomain", f"{networking.dns_domain!r} is not "
                                     "a DNS domain", "Use e.g. 'cluster.local'"))


def _control_plane_endpoint(value: str, problems: Problems) -> None:
    try:
        host, _ = split_host_port(value)
    except ValueError as exc:
        host, problem = "", str(exc)
    else:
        problem = f"{value!r}: host {host!r} is not an IP address or DNS name"
    if not (is_ip(host) or is_dns1123_subdomain(host)):
        problems.append(FieldProblem("controlPlaneEndpoint", problem,
                                     "Give host[:port], e.g. 'cp.example.com:6443' or "
                                     "'10.0.0.10'"))


def _etcd(etcd: v1beta4.Etcd, problems: Problems) -> None:
    if etcd.local is not None and etcd.external is not None:
        problems.append(FieldProblem("etcd", "both local and external are set",
                                     "Keep only etcd.local (stacked) or etcd.external"))
    if etcd.local is not None:
        _absolute("etcd.local.dataDir", etcd.local.data_dir, problems)
        _args("etcd.local.extraArgs", etcd.local.extra_args, problems)
        _cert_sans("etcd.local.serverCertSANs", etcd.local.server_cert_sans, problems)
        _cert_sans("etcd.local.peerCertSANs", etcd.local.peer_cert_sans, problems)
    if etcd.external is not None:
        external = etcd.external
        if not external.endpoints:
            problems.append(FieldProblem("etcd.external.endpoints", "is empty",
                                         "List the etcd client URLs, e.g. https://10.0.0.5:2379"))
        for i, url in enumerate(external.endpoints):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problems.append(FieldProblem(f"etcd.external.endpoints[{i}]", f"{url!r} is not "
                                             "an URL", "Write it like https://10.0.0.5:2379"))
        files = {"caFile": external.ca_file, "certFile": external.cert_file,
                 "keyFile": external.key_file}
        missing = [name for name, value in files.items() if not value]
        if missing and any(url.startswith("https:") for url in external.endpoints):
            problems.append(FieldProblem(
                "etcd.external", f"{', '.join(missing)} not set, but the endpoints use https",
                "Give the paths of the etcd CA and of the client certificate and key"))
        for name, value in files.items():
            if value:
                _absolute(f"etcd.external.{name}", value, problems)


def validate_cluster(cluster: v1beta4.ClusterConfiguration, warnings: list[str]) -> Problems:
    problems: Problems = []
    _networking(cluster.networking, problems, warnings)
    if cluster.control_plane_endpoint:
        _control_plane_endpoint(cluster.control_plane_endpoint, problems)
    _etcd(cluster.etcd, problems)
    _cert_sans("apiServer.certSANs", cluster.api_server.cert_sans, problems)
    for name, component in (("apiServer", cluster.api_server),
                            ("controllerManager", cluster.controller_manager),
                            ("scheduler", cluster.scheduler)):
        _args(f"{name}.extraArgs", component.extra_args, problems)
        _volumes(f"{name}.extraVolumes", component.extra_volumes, problems)
    _absolute("certificatesDir", cluster.certificates_dir, problems)
    if not KUBERNETES_VERSION_FORMAT.match(cluster.kubernetes_version):
        problems.append(FieldProblem(
            "kubernetesVersion", f"{cluster.kubernetes_version!r} is not a version or a known "
            "label", f"Give a version like {defaults.KUBERNETES_VERSION!r} or 'stable-1'"))
    _one_of("encryptionAlgorithm", cluster.encryption_algorithm, ENCRYPTION_ALGORITHMS, problems)
    for gate in cluster.feature_gates:
        _one_of(f"featureGates.{gate}", gate, FEATURE_GATES, problems)
    _validity_periods(cluster, problems, warnings)
    return problems


def _validity_periods(cluster: v1beta4.ClusterConfiguration, problems: Problems,
                      warnings: list[str]) -> None:
    leaf, ca = cluster.certificate_validity_period, cluster.ca_certificate_validity_period
    _positive("certificateValidityPeriod", leaf, problems)
    _positive("caCertificateValidityPeriod", ca, problems)
    for name, value, default in (
        ("certificateValidityPeriod", leaf, defaults.DEFAULT_CERTIFICATE_VALIDITY),
        ("caCertificateValidityPeriod", ca, defaults.DEFAULT_CA_CERTIFICATE_VALIDITY),
    ):
        if value is not None and value > default:
            warnings.append(f"{name}: {format_go_duration(value)} is more than the recommended "
                            f"{format_go_duration(default)}")
    if leaf is not None and ca is not None and leaf > ca:
        warnings.append(f"certificateValidityPeriod: {format_go_duration(leaf)} is longer than "
                        f"caCertificateValidityPeriod {format_go_duration(ca)}; certificates "
                        "will outlive their CA")


def validate_join(join: v1beta4.JoinConfiguration) -> Problems:
    problems: Problems = []
    _node_registration("nodeRegistration", join.node_registration, problems)
    _absolute("caCertPath", join.ca_cert_path, problems)
    discovery = join.discovery
    if (discovery.bootstrap_token is None) == (discovery.file is None):
        problems.append(FieldProblem(
            "discovery", "needs exactly one of bootstrapToken and file",
            "Give the API server endpoint with --token and --discovery-token-ca-cert-hash, "
            "or a kubeconfig with --discovery-file"))
    if discovery.bootstrap_token is not None:
        _token_discovery(discovery.bootstrap_token, problems)
    if discovery.file is not None and not discovery.file.kube_config_path:
        problems.append(FieldProblem("discovery.file.kubeConfigPath", "is empty",
                                     "Give the path or https URL of a kubeconfig file"))
    if discovery.tls_bootstrap_token:
        validate_token("discovery.tlsBootstrapToken", discovery.tls_bootstrap_token, problems)
    if join.control_plane is not None:
        _api_endpoint("controlPlane.localAPIEndpoint", join.control_plane.local_api_endpoint,
                      problems)
        _certificate_key("controlPlane.certificateKey", join.control_plane.certificate_key,
                         problems)
    _timeouts("timeouts", join.timeouts, problems)
    return problems


def _token_discovery(token: v1beta4.BootstrapTokenDiscovery, problems: Problems) -> None:
    path = "discovery.bootstrapToken"
    validate_token(f"{path}.token", token.token, problems)
    try:
        host, port = split_host_port(token.api_server_endpoint)
        if port is None or not host:
            raise ValueError("a port is required")
    except ValueError:
        problems.append(FieldProblem(f"{path}.apiServerEndpoint", f"{token.api_server_endpoint!r}"
                                     " is not host:port", "Give e.g. 10.0.0.10:6443"))
    for i, pin in enumerate(token.ca_cert_hashes):
        if not CA_CERT_HASH_FORMAT.match(pin):
            problems.append(FieldProblem(f"{path}.caCertHashes[{i}]", f"{pin!r} is not a CA pin",
                                         "Write it as sha256:<64 hex digits> as printed by init"))
    if not token.ca_cert_hashes and not token.unsafe_skip_ca_verification:
        problems.append(FieldProblem(
            f"{path}.caCertHashes", "is empty, so the API server could not be trusted",
            "Pass --discovery-token-ca-cert-hash sha256:<hex> as printed by init, or accept the "
            "risk with --discovery-token-unsafe-skip-ca-verification"))


def validate_reset(reset: v1beta4.ResetConfiguration) -> Problems:
    problems: Problems = []
    _absolute("certificatesDir", reset.certificates_dir, problems)
    _cri_socket("criSocket", reset.cri_socket, problems)
    validate_ignore_preflight_errors("ignorePreflightErrors", reset.ignore_preflight_errors,
                                     problems)
    for i, flag in enumerate(reset.unmount_flags):
        _one_of(f"unmountFlags[{i}]", flag, UNMOUNT_FLAGS, problems)
    _timeouts("timeouts", reset.timeouts, problems)
    return problems


def validate_kubeadmpy(config: v1alpha1.KubeadmpyConfiguration) -> Problems:
    problems: Problems = []
    _one_of("controlPlaneFlavor", config.control_plane_flavor, v1alpha1.CONTROL_PLANE_FLAVORS,
            problems)
    _one_of("network.plugin", config.network.plugin, v1alpha1.NETWORK_PLUGINS, problems)
    flannel = config.network.flannel
    _one_of("network.flannel.backend", flannel.backend, v1alpha1.FLANNEL_BACKENDS, problems)
    if flannel.vni is not None:
        _in_range("network.flannel.vni", flannel.vni, 1, MAX_VXLAN_VNI, problems)
    if flannel.port is not None:
        _in_range("network.flannel.port", flannel.port, 1, 65535, problems)
    if flannel.mtu is not None:
        _in_range("network.flannel.mtu", flannel.mtu, MIN_MTU, MAX_MTU, problems)
    _one_of("storage.csiPlugin", config.storage.csi_plugin, v1alpha1.CSI_PLUGINS, problems)
    _secrets_encryption("secretsEncryption", config.secrets_encryption, problems)
    return problems


def _secrets_encryption(path: str, encryption: v1alpha1.SecretsEncryption,
                        problems: Problems) -> None:
    """Checked also when disabled, so a typo does not wait for the day someone enables it."""
    _one_of(f"{path}.provider", encryption.provider, v1alpha1.SECRETS_ENCRYPTION_PROVIDERS,
            problems)
    resources = encryption.resources or []
    if encryption.enabled and not resources:
        problems.append(FieldProblem(f"{path}.resources", "is empty, so nothing would be "
                                     "encrypted", "List resources such as [secrets], or leave "
                                     "the field out to encrypt Secrets"))
    seen: set[str] = set()
    for i, resource in enumerate(resources):
        name, dot, group = resource.partition(".")
        if not RESOURCE_NAME_FORMAT.match(name) or (dot and not is_dns1123_subdomain(group)):
            problems.append(FieldProblem(
                f"{path}.resources[{i}]", f"{resource!r} is not a resource name",
                "Use the lower-case plural name, with the API group for resources outside the "
                "core group: secrets, configmaps, deployments.apps"))
        elif resource in seen:
            problems.append(FieldProblem(f"{path}.resources[{i}]", f"{resource!r} is listed "
                                         "twice", "List each resource once"))
        seen.add(resource)


def cross_check_init(cluster: v1beta4.ClusterConfiguration,
                     config: v1alpha1.KubeadmpyConfiguration, warnings: list[str]) -> None:
    """Warnings that need more than one document."""
    ours = defaults.KUBERNETES_VERSION.split(".")[:2]
    if config.control_plane_flavor == "python" and \
            cluster.kubernetes_version.split(".")[:2] != ours:
        warnings.append(
            f"kubernetesVersion {cluster.kubernetes_version}: the Python control plane serves "
            f"the {'.'.join(ours)} API whatever the version; set controlPlaneFlavor: upstream "
            "to run that release")
