"""`kubeadmpy-dns` flags, checked into one frozen `DnsSettings`.

The flags carry what kubeadm's Corefile says (`kubernetes cluster.local in-addr.arpa ip6.arpa
{ pods insecure; ttl 30 }`, `forward . /etc/resolv.conf`, `health :8080`, `ready :8181`), so the
addon's command line reads like the Corefile it replaces. Every bad value is a `ConfigError`
naming the flag, before anything listens.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
from dataclasses import dataclass

from kubeadmpy.config.netutil import is_dns1123_subdomain
from kubeadmpy.dns.forward import Upstream, parse_upstream, read_resolv_conf
from kubeadmpy.errors import ConfigError

DEFAULT_DOMAIN = "cluster.local"
DEFAULT_LISTEN = "0.0.0.0:53"
DEFAULT_HEALTH = "0.0.0.0:8080"
DEFAULT_READY = "0.0.0.0:8181"
DEFAULT_RESOLV_CONF = "/etc/resolv.conf"
DEFAULT_TTL = 30
MAX_TTL = 3600  # CoreDNS's kubernetes plugin accepts 0-3600
DEFAULT_FORWARD_TIMEOUT = 2.0
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")


@dataclass(frozen=True)
class DnsSettings:
    kubeconfig: str = ""  # empty: in-cluster config
    cluster_domain: str = DEFAULT_DOMAIN
    listen_host: str = "0.0.0.0"
    listen_port: int = 53
    upstreams: tuple[Upstream, ...] = ()  # empty: names outside the zone get SERVFAIL
    forward_timeout: float = DEFAULT_FORWARD_TIMEOUT
    ttl: int = DEFAULT_TTL
    health_listen: str = DEFAULT_HEALTH  # empty: off
    ready_listen: str = DEFAULT_READY  # empty: off
    verbosity: int = 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kubeadmpy-dns",
        description="Cluster DNS (the Kubernetes DNS specification, as CoreDNS's kubernetes "
                    "plugin answers it) with forwarding of other names.")
    add = p.add_argument
    add("--kubeconfig", default="", help="kubeconfig to reach the API (default: in-cluster).")
    add("--cluster-domain", default=DEFAULT_DOMAIN,
        help=f"The cluster's DNS zone (default {DEFAULT_DOMAIN}).")
    add("--listen", default=DEFAULT_LISTEN,
        help=f"host:port for DNS over UDP and TCP (default {DEFAULT_LISTEN}).")
    add("--resolv-conf", default=DEFAULT_RESOLV_CONF,
        help="resolv.conf whose nameservers get names outside the zone (default "
             f"{DEFAULT_RESOLV_CONF}; empty: no forwarding).")
    add("--upstream", default="",
        help="Comma-separated ip[:port] resolvers; replaces --resolv-conf's nameservers.")
    add("--forward-timeout", default=f"{DEFAULT_FORWARD_TIMEOUT:g}s",
        help="How long to wait for each upstream (e.g. 2s, 500ms).")
    add("--ttl", default=str(DEFAULT_TTL), help=f"TTL of cluster records (default "
        f"{DEFAULT_TTL}, 0-{MAX_TTL}).")
    add("--health-listen", default=DEFAULT_HEALTH,
        help=f"host:port for /health (default {DEFAULT_HEALTH}; empty: off).")
    add("--ready-listen", default=DEFAULT_READY,
        help=f"host:port for /ready (default {DEFAULT_READY}; empty: off).")
    add("-v", "--v", default="0", help="Log verbosity (4 and up logs debug).")
    return p


def parse_domain(value: str) -> str:
    domain = value.strip().rstrip(".").lower()
    if not is_dns1123_subdomain(domain):
        raise ConfigError("--cluster-domain", f"{value!r} is not a DNS domain",
                          "Use lower-case labels of letters, digits and '-', e.g. cluster.local")
    return domain


def parse_host_port(flag: str, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(flag, f"{value!r} is not host:port", "Use e.g. 0.0.0.0:53")
    host = host.strip("[]") or "0.0.0.0"
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise ConfigError(flag, f"{host!r} is not an IP address",
                          "Use an IP such as 0.0.0.0 or 127.0.0.1") from exc
    return host, int(port)


def _optional_listen(flag: str, value: str) -> str:
    """host:port checked, or "" (off)."""
    if not value:
        return ""
    host, port = parse_host_port(flag, value)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_duration(flag: str, value: str) -> float:
    match = _DURATION.match(value.strip())
    seconds = float(match.group(1)) / (1000 if match.group(2) == "ms" else 1) if match else 0
    if seconds <= 0 or seconds > 60:
        raise ConfigError(flag, f"{value!r} is not a duration between 0 and 60s",
                          "Use e.g. 2s or 500ms")
    return seconds


def _integer(flag: str, value: str, low: int, high: int) -> int:
    if not value.strip().isdigit() or not low <= int(value) <= high:
        raise ConfigError(flag, f"{value!r} is not a whole number in {low}-{high}",
                          f"Use e.g. {low if flag != '--ttl' else DEFAULT_TTL}")
    return int(value)


def parse_settings(argv: list[str]) -> DnsSettings:
    args = parser().parse_args(argv)
    host, port = parse_host_port("--listen", args.listen)
    if args.upstream:
        upstreams = [parse_upstream("--upstream", item) for item in args.upstream.split(",")
                     if item.strip()]
    elif args.resolv_conf:
        upstreams = read_resolv_conf(args.resolv_conf)
    else:
        upstreams = []
    return DnsSettings(
        kubeconfig=args.kubeconfig, cluster_domain=parse_domain(args.cluster_domain),
        listen_host=host, listen_port=port, upstreams=tuple(upstreams),
        forward_timeout=parse_duration("--forward-timeout", args.forward_timeout),
        ttl=_integer("--ttl", args.ttl, 0, MAX_TTL),
        health_listen=_optional_listen("--health-listen", args.health_listen),
        ready_listen=_optional_listen("--ready-listen", args.ready_listen),
        verbosity=_integer("--v", args.v, 0, 10))
