"""kube-proxy's flags and its KubeProxyConfiguration file (kubeproxy.config.k8s.io/v1alpha1).

kubeadm's kube-proxy DaemonSet runs `--config=/var/lib/kube-proxy/config.conf
--hostname-override=$(NODE_NAME)`, so both must work together: the file is read first, then
flags given explicitly on the command line override it. The file is decoded by the same strict
codec as kubeadm's kinds: unknown fields and wrong types are errors naming the field. Fields
upstream has but this proxy does not use (iptables, ipvs, conntrack, ...) are accepted so
kubeadm's printed defaults load, and each one given is logged as ignored.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from kubeadmpy.config.codec import FieldProblem, decode
from kubeadmpy.config.documents import KUBE_PROXY_API_VERSION, KUBE_PROXY_KIND
from kubeadmpy.errors import ConfigError
from kubeadmpy.proxy.rules import DEFAULT_MASQUERADE_BIT, RuleSettings

SUPPORTED_MODES = ("nftables",)
DEFAULT_HEALTHZ = "0.0.0.0:10256"
# Upstream's nftables defaults: resync every 30s, at most one sync per second.
DEFAULT_SYNC_PERIOD = timedelta(seconds=30)
DEFAULT_MIN_SYNC_PERIOD = timedelta(seconds=1)
IGNORED_FIELDS = ("bindAddress", "bindAddressHardFail", "configSyncPeriod", "conntrack",
                  "detectLocal", "detectLocalMode", "enableProfiling", "featureGates",
                  "iptables", "ipvs", "linux", "logging", "nodePortAddresses", "oomScoreAdj",
                  "portRange", "showHiddenMetricsForVersion", "windows", "winkernel")


@dataclass(kw_only=True)
class ClientConnection:
    kubeconfig: str = ""
    qps: Any = None  # a float upstream; checked in `_from_file`
    burst: int | None = None
    content_type: str = ""
    accept_content_types: str = ""


@dataclass(kw_only=True)
class NFTablesConfiguration:
    masquerade_bit: int | None = None
    masquerade_all: bool | None = None
    sync_period: timedelta | None = None
    min_sync_period: timedelta | None = None


@dataclass(kw_only=True)
class KubeProxyConfiguration:
    """The fields this proxy honours; see IGNORED_FIELDS for those it accepts and ignores."""

    client_connection: ClientConnection = field(default_factory=ClientConnection)
    hostname_override: str = ""
    healthz_bind_address: str = ""
    metrics_bind_address: str = ""
    mode: str = ""
    nftables: NFTablesConfiguration = field(default_factory=NFTablesConfiguration)
    cluster_cidr: str = field(default="", metadata={"json": "clusterCIDR"})


@dataclass(frozen=True)
class ProxySettings:
    """Everything `run` needs, after flags and file are merged and checked."""

    kubeconfig: str
    rules: RuleSettings
    healthz_bind_address: str = DEFAULT_HEALTHZ
    metrics_bind_address: str = ""
    sync_period: float = DEFAULT_SYNC_PERIOD.total_seconds()
    min_sync_period: float = DEFAULT_MIN_SYNC_PERIOD.total_seconds()
    qps: float = 5.0
    burst: int = 10
    nft_command: tuple[str, ...] = ("nft",)
    ignored_fields: tuple[str, ...] = ()
    verbosity: int = 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kubeadmpy-proxy", argument_default=argparse.SUPPRESS,
        description="Programs Services into nftables on this node (kube-proxy, nftables mode).")
    add = p.add_argument
    add("--config", help="KubeProxyConfiguration file; flags given explicitly override it.")
    add("--kubeconfig", help="kubeconfig with the proxy's identity (empty: in-cluster).")
    add("--hostname-override", help="This node's name (default: the hostname).")
    add("--cluster-cidr", help="Pod CIDR; traffic from outside it to a ClusterIP is "
        "masqueraded.")
    add("--proxy-mode", help="Only `nftables` is supported.")
    add("--healthz-bind-address", help=f"host:port for /healthz (default {DEFAULT_HEALTHZ}; "
        "empty: off).")
    add("--metrics-bind-address", help="host:port for /metrics (default: off).")
    # Go booleans upstream: bare, =true and =false all work.
    add("--masquerade-all", nargs="?", const="true",
        help="Masquerade all traffic to ClusterIPs.")
    add("--cleanup", nargs="?", const="true",
        help="Remove the table this proxy programs, exit.")
    add("--kube-api-qps", type=float, help="Requests per second to the API (default 5).")
    add("--kube-api-burst", type=int, help="Burst of requests to the API (default 10).")
    add("-v", "--v", help="Log verbosity (accepted; 4 and up logs debug).")
    return p


def load_file(path: str) -> tuple[KubeProxyConfiguration, tuple[str, ...]]:
    """Decode a KubeProxyConfiguration file; (config, upstream fields present but ignored)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ConfigError("--config", f"cannot read {path}: {exc.strerror}",
                          "Give the path of a KubeProxyConfiguration file") from exc
    except yaml.YAMLError as exc:
        raise ConfigError("--config", f"{path} is not YAML: {exc}", "Fix the file") from exc
    if not isinstance(data, dict):
        raise ConfigError("--config", f"{path} does not hold a mapping",
                          f"Write a {KUBE_PROXY_KIND} document")
    if (data.get("apiVersion"), data.get("kind")) != (KUBE_PROXY_API_VERSION, KUBE_PROXY_KIND):
        raise ConfigError("apiVersion/kind", f"{data.get('apiVersion')!r}/{data.get('kind')!r}"
                          f" in {path}", f"Use apiVersion: {KUBE_PROXY_API_VERSION} and kind: "
                          f"{KUBE_PROXY_KIND}")
    problems: list[FieldProblem] = []
    ignore = frozenset({"apiVersion", "kind", *IGNORED_FIELDS})
    config = decode(KubeProxyConfiguration, data, problems, ignore=ignore)
    qps = config.client_connection.qps
    if qps is not None and (isinstance(qps, bool) or not isinstance(qps, int | float)):
        problems.append(FieldProblem("clientConnection.qps", f"expected a number, got {qps!r}",
                                     "Give a number such as 5"))
    if problems:
        first, *rest = problems
        raise ConfigError(first.path, first.problem, "; ".join(
            [first.fix] + [p.render() for p in rest]) if rest else first.fix, source=path)
    return config, tuple(sorted(k for k in data if k in IGNORED_FIELDS))


def _host_port(flag: str, value: str) -> str:
    if not value:
        return ""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(flag, f"{value!r} is not host:port", "Use e.g. 0.0.0.0:10256")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError as exc:
        raise ConfigError(flag, f"{host!r} is not an IP address",
                          "Use an IP such as 0.0.0.0 or 127.0.0.1") from exc
    return value


def _cidr(flag: str, value: str) -> str:
    if not value:
        return ""
    if "," in value:
        raise ConfigError(flag, f"{value!r} lists several CIDRs",
                          "Give one IPv4 CIDR; this proxy programs IPv4 only")
    try:
        if "/" not in value:
            raise ValueError("no prefix length")
        network = ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise ConfigError(flag, f"{value!r} is not a CIDR", "Use e.g. 10.244.0.0/16") from exc
    if network.version != 4:
        raise ConfigError(flag, f"{value!r} is IPv6", "Give an IPv4 CIDR; the table is `ip`")
    return str(network)


def _period(field_name: str, value: timedelta | None, default: timedelta) -> float:
    if value is None:
        return default.total_seconds()
    if value <= timedelta(0):
        raise ConfigError(field_name, "must be positive", f"Use e.g. {default.seconds}s")
    return value.total_seconds()


def _switch(args: dict[str, Any], name: str, default: bool) -> bool:
    """A boolean flag as Go spells it (`--flag`, `--flag=true`, `--flag=false`)."""
    if name not in args:
        return default
    value = str(args[name]).lower()
    if value not in ("true", "false", "1", "0"):
        flag = "--" + name.replace("_", "-")
        raise ConfigError(flag, f"{args[name]!r} is not a boolean", f"Use {flag}=true or "
                          f"{flag}=false")
    return value in ("true", "1")


def parse_settings(argv: list[str]) -> tuple[ProxySettings, bool]:
    """(settings, cleanup requested) from the command line (and --config)."""
    args = vars(parser().parse_args(argv))
    config, ignored = load_file(args["config"]) if "config" in args else (
        KubeProxyConfiguration(), ())
    conn, nft = config.client_connection, config.nftables
    mode = args.get("proxy_mode", config.mode) or "nftables"
    if mode not in SUPPORTED_MODES:
        raise ConfigError("--proxy-mode", f"{mode!r} is not supported by kubeadmpy-proxy",
                          "Use nftables (iptables, ipvs and kernelspace are not implemented)")
    bit = DEFAULT_MASQUERADE_BIT if nft.masquerade_bit is None else nft.masquerade_bit
    if not 0 <= bit <= 31:
        raise ConfigError("nftables.masqueradeBit", f"{bit} is outside 0-31", "Use e.g. 14")
    node = args.get("hostname_override", config.hostname_override) or socket.gethostname()
    rules = RuleSettings(
        node_name=node.strip().lower(),
        cluster_cidr=_cidr("--cluster-cidr", args.get("cluster_cidr", config.cluster_cidr)),
        masquerade_bit=bit,
        masquerade_all=_switch(args, "masquerade_all", bool(nft.masquerade_all)))
    sync = _period("nftables.syncPeriod", nft.sync_period, DEFAULT_SYNC_PERIOD)
    min_sync = _period("nftables.minSyncPeriod", nft.min_sync_period, DEFAULT_MIN_SYNC_PERIOD)
    try:
        level = int(args.get("v", "0"))
    except ValueError as exc:
        raise ConfigError("--v", f"{args['v']!r} is not a number", "Use 0-10") from exc
    qps = args.get("kube_api_qps", conn.qps if conn.qps is not None else 5.0)
    burst = args.get("kube_api_burst", conn.burst if conn.burst is not None else 10)
    settings = ProxySettings(
        kubeconfig=args.get("kubeconfig", conn.kubeconfig),
        rules=rules,
        healthz_bind_address=_host_port("--healthz-bind-address", args.get(
            "healthz_bind_address", config.healthz_bind_address or DEFAULT_HEALTHZ)),
        metrics_bind_address=_host_port("--metrics-bind-address", args.get(
            "metrics_bind_address", config.metrics_bind_address)),
        sync_period=sync, min_sync_period=min(min_sync, sync), qps=float(qps), burst=int(burst),
        ignored_fields=ignored, verbosity=level)
    return settings, _switch(args, "cleanup", False)
