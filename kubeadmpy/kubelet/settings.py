"""The kubelet's settings: upstream flags plus a KubeletConfiguration file, merged like upstream.

Upstream gives command-line flags precedence over the config file for the few per-node values
kubeadm passes as flags (kubeadm-flags.env), and the file holds everything else. We read the
same flags (`--config`, `--kubeconfig`, `--bootstrap-kubeconfig`, `--container-runtime-endpoint`,
`--node-ip`, `--hostname-override`, `--pod-infra-container-image`, `--register-with-taints`,
`--root-dir`) and the same KubeletConfiguration field names; unknown fields are ignored with a
log line, as upstream's lenient decoding does for fields it does not know. Bad values raise a
`ConfigError` naming the field and the fix.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import re
import shlex
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from kubeadmpy.errors import ConfigError

log = logging.getLogger(__name__)

KUBELET_CONFIG_API = "kubelet.config.k8s.io/v1beta1"
DEFAULT_RUNTIME_ENDPOINT = "unix:///run/containerd/containerd.sock"
_TAINT = re.compile(r"^([A-Za-z0-9./_-]+)(?:=([A-Za-z0-9._-]*))?:(NoSchedule|PreferNoSchedule|"
                    r"NoExecute)$")


@dataclass(frozen=True)
class BackoffSettings:
    """Restart and image-pull back-off: upstream's 10 s doubling to 300 s (tests shorten it)."""

    initial_seconds: float = 10.0
    max_seconds: float = 300.0


@dataclass(frozen=True)
class KubeletSettings:
    """Everything `run` needs. Field names follow KubeletConfiguration where one exists."""

    kubeconfig: str = "/etc/kubernetes/kubelet.conf"
    bootstrap_kubeconfig: str = ""
    config_file: str = ""
    container_runtime_endpoint: str = DEFAULT_RUNTIME_ENDPOINT
    node_ip: str = ""
    hostname_override: str = ""
    pod_infra_container_image: str = ""
    register_with_taints: tuple[dict[str, str], ...] = ()
    root_dir: str = "/var/lib/kubelet"
    cert_dir: str = ""  # "" → <root_dir>/pki
    # KubeletConfiguration
    static_pod_path: str = ""
    file_check_frequency_seconds: float = 20.0
    sync_frequency_seconds: float = 60.0
    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = ""
    resolv_conf: str = "/etc/resolv.conf"
    max_pods: int = 110
    pod_logs_dir: str = "/var/log/pods"
    node_status_update_frequency_seconds: float = 10.0
    node_status_report_frequency_seconds: float = 300.0
    node_lease_duration_seconds: int = 40
    cgroup_driver: str = "cgroupfs"
    port: int = 10250
    healthz_port: int = 10248
    healthz_bind_address: str = "127.0.0.1"
    address: str = "0.0.0.0"
    register_node: bool = True
    eviction_hard_memory_bytes: int = 100 * 1024 * 1024  # memory.available<100Mi
    eviction_hard_nodefs_percent: int = 10  # nodefs.available<10%
    authentication: Mapping[str, Any] = field(default_factory=dict, hash=False)
    authorization: Mapping[str, Any] = field(default_factory=dict, hash=False)
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    backoff: BackoffSettings = BackoffSettings()
    pod_relist_seconds: float = 1.0  # PLEG's relist period

    @property
    def node_name(self) -> str:
        """--hostname-override, else the hostname, lower-cased (upstream's node name)."""
        return (self.hostname_override or socket.gethostname()).strip().lower()

    @property
    def pki_dir(self) -> Path:
        return Path(self.cert_dir or f"{self.root_dir}/pki")

    @property
    def pods_dir(self) -> Path:
        return Path(self.root_dir) / "pods"


# KubeletConfiguration field → (settings attribute, converter)
def _seconds(value: Any, name: str) -> float:
    """A Go duration ("10s", "1m0s", "500ms") or a number of seconds."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    total, matched = 0.0, ""
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text):
        total += float(number) * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]
        matched += number + unit
    if not text or matched != text:
        raise ConfigError(f"KubeletConfiguration.{name}", f"{value!r} is not a duration",
                          "write it like 10s, 1m0s or 500ms")
    return total


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"KubeletConfiguration.{name}", f"{value!r} is not an integer",
                          "give a whole number")
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"KubeletConfiguration.{name}", f"{value!r} is not a string",
                          "give a string")
    return value


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"KubeletConfiguration.{name}", f"{value!r} is not a list of strings",
                          "give a YAML list such as [10.96.0.10]")
    return tuple(value)


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"KubeletConfiguration.{name}", f"{value!r} is not a mapping",
                          "give a YAML mapping")
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"KubeletConfiguration.{name}", f"{value!r} is not true or false",
                          "write true or false")
    return value


_FIELDS: dict[str, tuple[str, Any]] = {
    "staticPodPath": ("static_pod_path", _str),
    "fileCheckFrequency": ("file_check_frequency_seconds", _seconds),
    "syncFrequency": ("sync_frequency_seconds", _seconds),
    "clusterDNS": ("cluster_dns", _strings),
    "clusterDomain": ("cluster_domain", _str),
    "resolvConf": ("resolv_conf", _str),
    "maxPods": ("max_pods", _int),
    "podLogsDir": ("pod_logs_dir", _str),
    "nodeStatusUpdateFrequency": ("node_status_update_frequency_seconds", _seconds),
    "nodeStatusReportFrequency": ("node_status_report_frequency_seconds", _seconds),
    "nodeLeaseDurationSeconds": ("node_lease_duration_seconds", _int),
    "cgroupDriver": ("cgroup_driver", _str),
    "port": ("port", _int),
    "healthzPort": ("healthz_port", _int),
    "healthzBindAddress": ("healthz_bind_address", _str),
    "address": ("address", _str),
    "registerNode": ("register_node", _bool),
    "containerRuntimeEndpoint": ("container_runtime_endpoint", _str),
    "authentication": ("authentication", _mapping),
    "authorization": ("authorization", _mapping),
    "tlsCertFile": ("tls_cert_file", _str),
    "tlsPrivateKeyFile": ("tls_private_key_file", _str),
}


def apply_configuration(settings: KubeletSettings, document: Mapping[str, Any],
                        source: str = "") -> KubeletSettings:
    """Settings with the values of a KubeletConfiguration document applied."""
    for key, expected in (("apiVersion", KUBELET_CONFIG_API), ("kind", "KubeletConfiguration")):
        if document.get(key) != expected:
            raise ConfigError(key, f"{document.get(key)!r} is not supported",
                              f"use {key}: {expected}", source=source)
    changes: dict[str, Any] = {}
    for key, value in document.items():
        if key in ("apiVersion", "kind"):
            continue
        if key not in _FIELDS:
            log.debug("%s: KubeletConfiguration.%s is not used by kubeadmpy-kubelet", source, key)
            continue
        attribute, convert = _FIELDS[key]
        try:
            changes[attribute] = convert(value, key)
        except ConfigError as exc:
            raise ConfigError(exc.field, exc.problem, exc.fix, source=source) from exc
    if "cgroup_driver" in changes and changes["cgroup_driver"] not in ("cgroupfs", "systemd"):
        raise ConfigError("KubeletConfiguration.cgroupDriver", repr(changes["cgroup_driver"]),
                          "use cgroupfs or systemd (the same as containerd's)", source=source)
    return replace(settings, **changes)


def load_configuration(path: str) -> Mapping[str, Any]:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError("--config", f"cannot read {path}: {exc.strerror}",
                          "write the KubeletConfiguration there (kubeadmpy init does)") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("--config", f"{path} is not YAML: {exc}", "fix the file") from exc
    if not isinstance(document, dict):
        raise ConfigError("--config", f"{path} does not hold a KubeletConfiguration mapping",
                          "fix the file")
    return document


def parse_taints(text: str) -> tuple[dict[str, str], ...]:
    """--register-with-taints: ``key=value:Effect,key:Effect``."""
    taints: list[dict[str, str]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        match = _TAINT.match(item)
        if match is None:
            raise ConfigError("--register-with-taints", f"{item!r} is not a taint",
                              "write key=value:Effect or key:Effect, Effect one of NoSchedule, "
                              "PreferNoSchedule, NoExecute")
        taint = {"key": match.group(1), "effect": match.group(3)}
        if match.group(2):
            taint["value"] = match.group(2)
        taints.append(taint)
    return tuple(taints)


def read_flags_env(path: Path, variable: str = "KUBELET_KUBEADM_ARGS") -> list[str]:
    """The flags of an environment file like kubeadm-flags.env (``NAME="--a=b --c=d"``),
    split as systemd splits ``$NAME`` in ExecStart (on whitespace; the file never has blanks
    inside a value). A missing file is no flags, as the unit's ``EnvironmentFile=-`` says."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if name.strip() == variable:
            return shlex.split(value)[0].split() if value.strip() else []
    return []


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubeadmpy-kubelet", description="The kubeadmpy node agent (kubelet) over CRI.")
    add = parser.add_argument
    add("--config", default="", help="KubeletConfiguration file (kubelet.config.k8s.io/v1beta1)")
    add("--kubeconfig", default=None, help="kubeconfig of the node (default "
        "/etc/kubernetes/kubelet.conf)")
    add("--bootstrap-kubeconfig", default="", help="kubeconfig with a bootstrap token: used "
        "for TLS bootstrap when --kubeconfig does not exist yet")
    add("--container-runtime-endpoint", default=None, help="CRI socket, unix:///path")
    add("--node-ip", default="", help="the node's InternalIP (default: the default route's)")
    add("--hostname-override", default="", help="node name instead of the hostname")
    add("--pod-infra-container-image", default="", help="sandbox image (informational: "
        "containerd's sandbox_image decides)")
    add("--register-with-taints", default="", help="taints at registration: k=v:Effect,...")
    add("--root-dir", default="/var/lib/kubelet", help="the kubelet's state directory")
    add("--cert-dir", default="", help="where the client/serving certificates live "
        "(default <root-dir>/pki)")
    add("--flags-env-file", action="append", default=[], help="read more flags from an "
        "environment file such as /var/lib/kubelet/kubeadm-flags.env (VAR=\"--flags\"); "
        "what the supervisor does where no systemd reads it")
    add("-v", "--v", dest="verbosity", type=int, default=2, help="log verbosity")
    return parser


@dataclass(frozen=True)
class CommandLine:
    settings: KubeletSettings
    verbosity: int


def parse_command_line(argv: Sequence[str]) -> CommandLine:
    """Flags (including those in --flags-env-file files) → settings; the config file's values
    are applied first so flags win, as upstream does."""
    parser = _parser()
    first, _ = parser.parse_known_args(argv)
    extra: list[str] = []
    for env_file in first.flags_env_file:
        extra += read_flags_env(Path(env_file))
    # Flags given on the command line come after the file's, so they take precedence.
    args = parser.parse_args([*extra, *argv])
    settings = KubeletSettings(root_dir=args.root_dir, cert_dir=args.cert_dir)
    if args.config:
        settings = apply_configuration(settings, load_configuration(args.config), args.config)
        settings = replace(settings, config_file=args.config)
    changes: dict[str, Any] = {"bootstrap_kubeconfig": args.bootstrap_kubeconfig,
                               "hostname_override": args.hostname_override,
                               "pod_infra_container_image": args.pod_infra_container_image}
    if args.kubeconfig is not None:
        changes["kubeconfig"] = args.kubeconfig
    if args.container_runtime_endpoint is not None:
        changes["container_runtime_endpoint"] = args.container_runtime_endpoint
    if args.node_ip:
        try:
            ipaddress.ip_address(args.node_ip)
        except ValueError as exc:
            raise ConfigError("--node-ip", f"{args.node_ip!r} is not an IP address",
                              "give this node's address, e.g. 192.168.1.10") from exc
        changes["node_ip"] = args.node_ip
    if args.register_with_taints:
        changes["register_with_taints"] = parse_taints(args.register_with_taints)
    return CommandLine(replace(settings, **changes), args.verbosity)
