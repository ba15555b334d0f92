"""The kubelet's files: /var/lib/kubelet/config.yaml and /var/lib/kubelet/kubeadm-flags.env.

config.yaml is the user's KubeletConfiguration (if any) with kubeadm's cluster-wide values filled
in; where the user chose differently, kubeadm keeps the user's value and warns, except for
rotateCertificates, which is forced on. kubeadm-flags.env carries the per-node flags in one
``KUBELET_KUBEADM_ARGS="..."`` line quoted like Go's %q, read by the systemd drop-in (or by
the built-in supervisor when there is no systemd).
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

import yaml

from kubeadmpy.errors import ConfigError
from kubeadmpy.paths import KUBELET_DIR, MANIFESTS_DIR
from kubeadmpy.render.arguments import Arg, arguments_to_command, check_extra_args, last_value
from kubeadmpy.render.environment import RenderedFile, RenderError, render_template
from kubeadmpy.render.quoting import go_unquote, load_yaml
from kubeadmpy.render.values import Flavor

KUBELET_CONFIG = KUBELET_DIR / "config.yaml"
KUBELET_FLAGS_ENV = KUBELET_DIR / "kubeadm-flags.env"
KUBELET_CONFIG_API = "kubelet.config.k8s.io/v1beta1"
KUBELET_FLAGS_VARIABLE = "KUBELET_KUBEADM_ARGS"
DEFAULT_CRI_SOCKET = "unix:///var/run/containerd/containerd.sock"
_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_NODE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclass(frozen=True)
class Taint:
    key: str
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
    value: str = ""

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


@dataclass(frozen=True)
class KubeletValues:
    """What the kubelet files of one node are computed from."""

    flavor: Flavor
    node_name: str
    hostname: str  # this machine's hostname; --hostname-override only when it differs
    service_subnet: str = "10.96.0.0/12"
    dns_domain: str = "cluster.local"
    certificates_dir: str = "/etc/kubernetes/pki"
    cgroup_driver: Literal["systemd", "cgroupfs"] = "systemd"
    cri_socket: str = DEFAULT_CRI_SOCKET
    pod_infra_container_image: str = ""  # kubeadm 1.27-1.33 passes the pause image; "" → no flag
    register_with_taints: tuple[Taint, ...] = ()  # workers on join (init taints via the API)
    kubelet_extra_args: tuple[Arg, ...] = ()
    user_config: Mapping[str, Any] | None = field(default=None, hash=False)
    resolv_conf: str = ""  # "/run/systemd/resolve/resolv.conf" when systemd-resolved is active
    kubelet_executable: str = ""  # "" → the flavor's kubelet (see units.kubelet_executable)


def cluster_dns_ip(service_subnet: str) -> str:
    """The 10th address of the (first) service subnet: the cluster DNS Service IP."""
    first = service_subnet.split(",")[0].strip()
    try:
        network = ipaddress.ip_network(first, strict=True)
    except ValueError as exc:
        raise ConfigError("networking.serviceSubnet", f"{first!r} is not a CIDR",
                          "write it like 10.96.0.0/12") from exc
    if network.num_addresses < 11:
        raise ConfigError("networking.serviceSubnet", f"{first!r} has fewer than 11 addresses",
                          "use a larger service subnet (at least /28 for IPv4)")
    return str(network.network_address + 10)


def kubelet_configuration(values: KubeletValues) -> tuple[dict[str, Any], list[str]]:
    """The KubeletConfiguration to write, and a warning per user value kubeadm would flag."""
    config: dict[str, Any] = copy.deepcopy(dict(values.user_config or {}))
    for key, expected in (("apiVersion", KUBELET_CONFIG_API), ("kind", "KubeletConfiguration")):
        if config.setdefault(key, expected) != expected:
            raise ConfigError(f"KubeletConfiguration.{key}", f"{config[key]!r} is not supported",
                              f"use {expected!r}")
    warnings: list[str] = []

    def default(path: tuple[str, ...], value: Any, *, warn: bool = True) -> None:
        parent = config
        for depth, key in enumerate(path[:-1]):
            parent = parent.setdefault(key, {})
            if not isinstance(parent, dict):
                raise ConfigError("KubeletConfiguration." + ".".join(path[: depth + 1]),
                                  "is not a mapping", "give it as a YAML mapping")
        current = parent.setdefault(path[-1], value)
        if warn and current != value:
            warnings.append(f"KubeletConfiguration.{'.'.join(path)} is {current!r}; kubeadm "
                            f"expects {value!r}, so the cluster may not work as intended")

    default(("staticPodPath",), str(MANIFESTS_DIR))
    default(("clusterDNS",), [cluster_dns_ip(values.service_subnet)])
    default(("clusterDomain",), values.dns_domain)
    default(("authentication", "x509", "clientCAFile"), f"{values.certificates_dir}/ca.crt")
    default(("authentication", "anonymous", "enabled"), False)
    default(("authentication", "webhook", "enabled"), True)
    default(("authorization", "mode"), "Webhook")
    default(("healthzBindAddress",), "127.0.0.1")
    default(("healthzPort",), 10248)
    default(("cgroupDriver",), values.cgroup_driver, warn=False)
    default(("containerRuntimeEndpoint",), values.cri_socket, warn=False)
    if values.resolv_conf:
        default(("resolvConf",), values.resolv_conf, warn=False)
    # Certificate rotation is not optional: kubeadm's kubelet.conf points at the rotated files.
    config["rotateCertificates"] = True
    return config, warnings


def validate_kubelet_values(values: KubeletValues) -> None:
    """Reject values the kubelet files cannot be made from, naming the field and the fix."""
    if not _NODE_NAME.fullmatch(values.node_name) or len(values.node_name) > 253:
        raise ConfigError("nodeRegistration.name", f"{values.node_name!r} is not a valid node name",
                          "use lowercase letters, digits, '-' and '.'")
    if not values.cri_socket.strip() or re.search(r"\s", values.cri_socket):
        raise ConfigError("nodeRegistration.criSocket", f"{values.cri_socket!r} is not a socket",
                          f"use a URL such as {DEFAULT_CRI_SOCKET}")
    if values.cgroup_driver not in ("systemd", "cgroupfs"):
        raise ConfigError("KubeletConfiguration.cgroupDriver",
                          f"{values.cgroup_driver!r} is not a cgroup driver",
                          "use 'systemd' or 'cgroupfs' (the same as containerd's)")
    check_extra_args(values.kubelet_extra_args, "nodeRegistration.kubeletExtraArgs")


def kubelet_flags(values: KubeletValues) -> list[str]:
    """The per-node kubelet flags kubeadm writes to kubeadm-flags.env, sorted."""
    validate_kubelet_values(values)
    defaults = [Arg("container-runtime-endpoint", values.cri_socket)]
    if values.pod_infra_container_image:
        defaults.append(Arg("pod-infra-container-image", values.pod_infra_container_image))
    for index, taint in enumerate(values.register_with_taints):
        if taint.effect not in _EFFECTS:
            raise ConfigError(f"nodeRegistration.taints[{index}].effect", f"{taint.effect!r}",
                              f"use one of {', '.join(_EFFECTS)}")
    if values.register_with_taints:
        defaults.append(Arg("register-with-taints",
                            ",".join(str(taint) for taint in values.register_with_taints)))
    node_name = last_value(values.kubelet_extra_args, "hostname-override") or values.node_name
    if node_name != values.hostname.strip().lower():
        defaults.append(Arg("hostname-override", node_name))
    flags = arguments_to_command(defaults, values.kubelet_extra_args)
    for index, arg in enumerate(values.kubelet_extra_args):
        # The env file is split on whitespace by systemd: a value with a blank would break apart.
        if re.search(r"\s", arg.value):
            raise ConfigError(f"nodeRegistration.kubeletExtraArgs[{index}].value",
                              f"{arg.value!r} contains whitespace",
                              "kubelet flags in kubeadm-flags.env cannot hold blanks; "
                              "set the option in the KubeletConfiguration instead")
    return flags


def render_kubelet_config(values: KubeletValues) -> RenderedFile:
    validate_kubelet_values(values)
    config, warnings = kubelet_configuration(values)
    body = {key: value for key, value in config.items() if key not in ("apiVersion", "kind")}
    content = render_template("kubelet/config.yaml.j2", api_version=config["apiVersion"],
                              kind=config["kind"], body=body)
    try:
        parsed = load_yaml(content)
    except yaml.YAMLError as exc:
        raise RenderError(f"{KUBELET_CONFIG} is not YAML: {exc}") from exc
    if parsed != config:
        raise RenderError(f"{KUBELET_CONFIG} did not parse back as the computed configuration")
    return RenderedFile(content, 0o644, tuple(warnings))


def render_kubelet_flags(values: KubeletValues) -> RenderedFile:
    flags = kubelet_flags(values)
    content = render_template("kubelet/kubeadm-flags.env.j2", flags=flags)
    if parse_kubelet_flags_env(content) != flags:
        raise RenderError(f"{KUBELET_FLAGS_ENV} did not parse back as the computed flags")
    return RenderedFile(content, 0o644)


def parse_kubelet_flags_env(content: str) -> list[str]:
    """The flags of a kubeadm-flags.env file (as the supervisor or a test reads it back)."""
    match = re.fullmatch(rf'{KUBELET_FLAGS_VARIABLE}=(".*")\n?', content)
    if not match:
        raise RenderError(f"not a kubeadm-flags.env line: {content!r}")
    return go_unquote(match.group(1)).split()


def render_kubelet(values: KubeletValues) -> dict[PurePosixPath, RenderedFile]:
    """config.yaml and kubeadm-flags.env, keyed by logical path."""
    return {KUBELET_CONFIG: render_kubelet_config(values),
            KUBELET_FLAGS_ENV: render_kubelet_flags(values)}
