"""Command-line flags that are bound to config fields, and how they override a config.

Without `--config`, flags fill the fields of otherwise default documents, as kubeadm binds its
flags to the config struct. With `--config`, only a few flags may be given alongside (kubeadm's
ValidateMixedArguments): the rest are an error naming them, because the file is the truth.
Every field of a `*Flags` dataclass is None when its flag was not given.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from kubeadmpy.config import v1beta4
from kubeadmpy.config.codec import FieldProblem
from kubeadmpy.config.durations import DURATION_HINT, DurationSyntaxError, parse_go_duration
from kubeadmpy.errors import ConfigError

# Flags that may be mixed with --config. kubeadm allows node-name, dry-run,
# ignore-preflight-errors, upload-certs and every skip-*; we also allow certificate-key, and
# force for reset (the file cannot say "do not ask" for one run). --root-dir is not config-bound.
ALLOWED_WITH_CONFIG = frozenset({"certificate_key", "dry_run", "ignore_preflight_errors",
                                 "skip_phases", "upload_certs", "node_name", "force"})
COMMAND_LINE = "command line"


@dataclass(kw_only=True)
class InitFlags:
    apiserver_advertise_address: str | None = None
    apiserver_bind_port: int | None = None
    apiserver_cert_extra_sans: list[str] | None = None
    cert_dir: str | None = None
    control_plane_endpoint: str | None = None
    pod_network_cidr: str | None = None
    service_cidr: str | None = None
    service_dns_domain: str | None = None
    node_name: str | None = None
    kubernetes_version: str | None = None
    image_repository: str | None = None
    cri_socket: str | None = None
    token: str | None = None
    token_ttl: str | None = None  # Go duration text as typed, e.g. "24h"; "0" never expires
    feature_gates: str | None = None  # "Gate=true,Other=false"
    patches: str | None = None
    upload_certs: bool | None = None
    certificate_key: str | None = None
    skip_phases: list[str] | None = None
    ignore_preflight_errors: list[str] | None = None
    dry_run: bool | None = None


@dataclass(kw_only=True)
class JoinFlags:
    api_server_endpoint: str | None = None  # the positional argument host:port
    token: str | None = None
    discovery_token: str | None = None
    discovery_token_ca_cert_hash: list[str] | None = None
    discovery_token_unsafe_skip_ca_verification: bool | None = None
    discovery_file: str | None = None
    tls_bootstrap_token: str | None = None
    control_plane: bool | None = None
    certificate_key: str | None = None
    apiserver_advertise_address: str | None = None
    apiserver_bind_port: int | None = None
    node_name: str | None = None
    cri_socket: str | None = None
    patches: str | None = None
    skip_phases: list[str] | None = None
    ignore_preflight_errors: list[str] | None = None
    dry_run: bool | None = None


@dataclass(kw_only=True)
class ResetFlags:
    cert_dir: str | None = None
    cri_socket: str | None = None
    cleanup_tmp_dir: bool | None = None
    force: bool | None = None
    skip_phases: list[str] | None = None
    ignore_preflight_errors: list[str] | None = None
    dry_run: bool | None = None


# Which config field a flag fills, so a bad value is reported under the flag the user typed.
FLAG_FIELDS: dict[str, tuple[str, ...]] = {
    "apiserver_advertise_address": ("localAPIEndpoint.advertiseAddress",
                                    "controlPlane.localAPIEndpoint.advertiseAddress"),
    "apiserver_bind_port": ("localAPIEndpoint.bindPort", "controlPlane.localAPIEndpoint.bindPort"),
    "apiserver_cert_extra_sans": ("apiServer.certSANs",),
    "cert_dir": ("certificatesDir",),
    "control_plane_endpoint": ("controlPlaneEndpoint",),
    "pod_network_cidr": ("networking.podSubnet",),
    "service_cidr": ("networking.serviceSubnet",),
    "service_dns_domain": ("networking.dnsDomain",),
    "node_name": ("nodeRegistration.name",),
    "kubernetes_version": ("kubernetesVersion",),
    "cri_socket": ("nodeRegistration.criSocket", "criSocket"),
    "token": ("bootstrapTokens[0].token", "discovery.bootstrapToken.token",
              "discovery.tlsBootstrapToken"),
    "certificate_key": ("certificateKey", "controlPlane.certificateKey"),
    "discovery_token": ("discovery.bootstrapToken.token",),
    "discovery_token_ca_cert_hash": ("discovery.bootstrapToken.caCertHashes",),
    "api_server_endpoint": ("discovery.bootstrapToken.apiServerEndpoint",),
    "tls_bootstrap_token": ("discovery.tlsBootstrapToken",),
    "ignore_preflight_errors": ("nodeRegistration.ignorePreflightErrors",
                                "ignorePreflightErrors"),
}


def flag_name(field_name: str) -> str:
    """How the user typed it: "--pod-network-cidr", or the positional endpoint of join."""
    if field_name == "api_server_endpoint":
        return "the API server endpoint argument"
    return "--" + field_name.replace("_", "-")


def given(flags: Any) -> list[str]:
    """Names (Python spelling) of the flags that were given."""
    return [f.name for f in dataclasses.fields(flags) if getattr(flags, f.name) is not None]


def check_mixed_arguments(flags: Any) -> None:
    """kubeadm's ValidateMixedArguments: config-bound flags may not accompany --config."""
    mixed = [name for name in given(flags) if name not in ALLOWED_WITH_CONFIG]
    if mixed:
        shown = ", ".join(flag_name(name) for name in mixed)
        raise ConfigError("--config", f"can not be mixed with {shown}",
                          "Put these settings in the config file, or drop --config",
                          source=COMMAND_LINE)


def _merge_unique(existing: list[str], extra: list[str]) -> list[str]:
    return list(dict.fromkeys([*existing, *extra]))


def apply_init_flags(flags: InitFlags, init: v1beta4.InitConfiguration,
                     cluster: v1beta4.ClusterConfiguration) -> list[FieldProblem]:
    """Write given flags into the documents; return problems with flag values themselves."""
    problems: list[FieldProblem] = []
    endpoint, registration, networking = (init.local_api_endpoint, init.node_registration,
                                          cluster.networking)
    endpoint.advertise_address = _pick(flags.apiserver_advertise_address,
                                       endpoint.advertise_address)
    endpoint.bind_port = _pick(flags.apiserver_bind_port, endpoint.bind_port)
    cluster.api_server.cert_sans = _pick(flags.apiserver_cert_extra_sans,
                                         cluster.api_server.cert_sans)
    cluster.certificates_dir = _pick(flags.cert_dir, cluster.certificates_dir)
    cluster.control_plane_endpoint = _pick(flags.control_plane_endpoint,
                                           cluster.control_plane_endpoint)
    networking.pod_subnet = _pick(flags.pod_network_cidr, networking.pod_subnet)
    networking.service_subnet = _pick(flags.service_cidr, networking.service_subnet)
    networking.dns_domain = _pick(flags.service_dns_domain, networking.dns_domain)
    registration.name = _pick(flags.node_name, registration.name)
    cluster.kubernetes_version = _pick(flags.kubernetes_version, cluster.kubernetes_version)
    cluster.image_repository = _pick(flags.image_repository, cluster.image_repository)
    registration.cri_socket = _pick(flags.cri_socket, registration.cri_socket)
    if flags.token is not None or flags.token_ttl is not None:
        init.bootstrap_tokens = init.bootstrap_tokens or [v1beta4.BootstrapToken()]
        init.bootstrap_tokens[0].token = _pick(flags.token, init.bootstrap_tokens[0].token)
        if flags.token_ttl is not None:
            init.bootstrap_tokens[0].ttl = _duration("--token-ttl", flags.token_ttl, problems)
    if flags.feature_gates is not None:
        cluster.feature_gates.update(parse_feature_gates(flags.feature_gates, problems))
    if flags.patches is not None:
        init.patches = v1beta4.Patches(directory=flags.patches)
    init.certificate_key = _pick(flags.certificate_key, init.certificate_key)
    init.skip_phases = _pick(flags.skip_phases, init.skip_phases)
    registration.ignore_preflight_errors = _merge_unique(registration.ignore_preflight_errors,
                                                         flags.ignore_preflight_errors or [])
    init.dry_run = _pick(flags.dry_run, init.dry_run)
    return problems


def apply_join_flags(flags: JoinFlags, join: v1beta4.JoinConfiguration,
                     warnings: list[str]) -> None:
    """Write given join flags into the JoinConfiguration, as kubeadm's join flags do."""
    registration, discovery = join.node_registration, join.discovery
    registration.name = _pick(flags.node_name, registration.name)
    registration.cri_socket = _pick(flags.cri_socket, registration.cri_socket)
    registration.ignore_preflight_errors = _merge_unique(registration.ignore_preflight_errors,
                                                         flags.ignore_preflight_errors or [])
    if flags.discovery_file is not None:
        discovery.file = v1beta4.FileDiscovery(kube_config_path=flags.discovery_file)
    elif any(value is not None for value in (
            flags.api_server_endpoint, flags.token, flags.discovery_token,
            flags.discovery_token_ca_cert_hash, flags.discovery_token_unsafe_skip_ca_verification)):
        token = discovery.bootstrap_token or v1beta4.BootstrapTokenDiscovery()
        token.token = flags.discovery_token or flags.token or token.token
        token.api_server_endpoint = _pick(flags.api_server_endpoint, token.api_server_endpoint)
        token.ca_cert_hashes = _pick(flags.discovery_token_ca_cert_hash, token.ca_cert_hashes)
        token.unsafe_skip_ca_verification = _pick(flags.discovery_token_unsafe_skip_ca_verification,
                                                  token.unsafe_skip_ca_verification)
        discovery.bootstrap_token = token
    discovery.tls_bootstrap_token = flags.tls_bootstrap_token or flags.token or \
        discovery.tls_bootstrap_token
    _apply_join_control_plane(flags, join, warnings)
    if flags.patches is not None:
        join.patches = v1beta4.Patches(directory=flags.patches)
    join.skip_phases = _pick(flags.skip_phases, join.skip_phases)
    join.dry_run = _pick(flags.dry_run, join.dry_run)


def _apply_join_control_plane(flags: JoinFlags, join: v1beta4.JoinConfiguration,
                              warnings: list[str]) -> None:
    control_plane_only = {"certificate_key": flags.certificate_key,
                          "apiserver_advertise_address": flags.apiserver_advertise_address,
                          "apiserver_bind_port": flags.apiserver_bind_port}
    if flags.control_plane:
        join.control_plane = join.control_plane or v1beta4.JoinControlPlane()
    if join.control_plane is None:
        ignored = [flag_name(name) for name, value in control_plane_only.items()
                   if value is not None]
        if ignored:
            warnings.append(f"{', '.join(ignored)} only apply with --control-plane; ignored")
        return
    endpoint = join.control_plane.local_api_endpoint
    endpoint.advertise_address = _pick(flags.apiserver_advertise_address,
                                       endpoint.advertise_address)
    endpoint.bind_port = _pick(flags.apiserver_bind_port, endpoint.bind_port)
    join.control_plane.certificate_key = _pick(flags.certificate_key,
                                               join.control_plane.certificate_key)


def apply_reset_flags(flags: ResetFlags, reset: v1beta4.ResetConfiguration) -> None:
    reset.certificates_dir = _pick(flags.cert_dir, reset.certificates_dir)
    reset.cri_socket = _pick(flags.cri_socket, reset.cri_socket)
    reset.cleanup_tmp_dir = _pick(flags.cleanup_tmp_dir, reset.cleanup_tmp_dir)
    reset.force = reset.force or bool(flags.force)
    reset.skip_phases = _pick(flags.skip_phases, reset.skip_phases)
    reset.ignore_preflight_errors = _merge_unique(reset.ignore_preflight_errors,
                                                  flags.ignore_preflight_errors or [])
    reset.dry_run = _pick(flags.dry_run, reset.dry_run)


def parse_feature_gates(text: str, problems: list[FieldProblem]) -> dict[str, bool]:
    """Parse "A=true,B=false" as kubeadm's --feature-gates."""
    gates: dict[str, bool] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or value.lower() not in ("true", "false"):
            problems.append(FieldProblem("--feature-gates", f"{item!r} is not Name=true|false",
                                         "Write gates like 'WaitForAllControlPlaneComponents=true'"))
            continue
        gates[name] = value.lower() == "true"
    return gates


def _duration(flag: str, text: str, problems: list[FieldProblem]) -> Any:
    try:
        return parse_go_duration(text)
    except DurationSyntaxError as exc:
        problems.append(FieldProblem(flag, str(exc), DURATION_HINT))
        return None


def _pick(flag_value: Any, current: Any) -> Any:
    return current if flag_value is None else flag_value
