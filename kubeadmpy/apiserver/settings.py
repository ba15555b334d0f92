"""kubeadmpy-apiserver settings and the upstream command-line flags that fill them.

Every flag of kubeadm's default kube-apiserver command line is accepted, so a rendered static pod
manifest starts this server unchanged. Flags for features not built yet are accepted and logged
as "not yet enforced" rather than silently ignored or refused.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from typing import Any

from kubeadmpy.errors import UserInputError

# Flags handed to kubeadmpy.security (authentication, authorization, tokens); the repeatable
# ones keep every value, as upstream's string-slice flags do.
SECURITY_FLAGS = (
    "authorization-mode", "enable-admission-plugins", "disable-admission-plugins",
    "enable-bootstrap-token-auth",
    "service-account-issuer", "service-account-key-file", "service-account-signing-key-file",
    "anonymous-auth", "api-audiences", "encryption-provider-config",
)
REPEATABLE_FLAGS = frozenset({"service-account-issuer", "service-account-key-file",
                              "api-audiences"})
# Flags that parse but whose feature is not implemented here yet (logged at start-up).
NOT_YET_ENFORCED = (
    "allow-privileged", "proxy-client-cert-file", "proxy-client-key-file",
    "requestheader-allowed-names", "requestheader-client-ca-file",
    "requestheader-extra-headers-prefix", "requestheader-group-headers",
    "requestheader-username-headers", "authorization-config", "audit-log-path",
    "audit-policy-file", "feature-gates", "runtime-config",
    "profiling", "v",
)


@dataclass(frozen=True)
class Settings:
    etcd_servers: tuple[str, ...]
    etcd_cafile: str = ""
    etcd_certfile: str = ""
    etcd_keyfile: str = ""
    bind_address: str = "0.0.0.0"
    secure_port: int = 6443
    advertise_address: str = ""
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    client_ca_file: str = ""
    service_cluster_ip_range: str = "10.96.0.0/12"
    service_node_port_range: str = "30000-32767"
    kubelet_client_certificate: str = ""
    kubelet_client_key: str = ""
    kubelet_preferred_address_types: tuple[str, ...] = ()
    watch_cache_window: int = 10_000
    etcd_compaction_interval: float = 300.0
    security_flags: dict[str, Any] = field(default_factory=dict)
    not_enforced: dict[str, str] = field(default_factory=dict)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubeadmpy-apiserver",
        description="A Kubernetes-compatible API server on etcd (upstream flag names).")
    add = parser.add_argument
    add("--etcd-servers", required=True,
        help="Comma-separated etcd client URLs, e.g. https://127.0.0.1:2379.")
    add("--etcd-cafile", default="", help="CA bundle that signs the etcd server certificates.")
    add("--etcd-certfile", default="", help="Client certificate for etcd.")
    add("--etcd-keyfile", default="", help="Key of --etcd-certfile.")
    add("--bind-address", default="0.0.0.0", help="Address to serve HTTPS on.")
    add("--secure-port", type=int, default=6443, help="Port to serve HTTPS on.")
    add("--advertise-address", default="", help="Address advertised to clients.")
    add("--tls-cert-file", default="", help="Serving certificate (PEM).")
    add("--tls-private-key-file", default="", help="Key of --tls-cert-file.")
    add("--client-ca-file", default="",
        help="CA bundle for client certificates (CN = user, O = groups).")
    add("--service-cluster-ip-range", default="10.96.0.0/12",
        help="CIDR that Service cluster IPs are allocated from.")
    add("--kubelet-client-certificate", default="",
        help="Client certificate for talking to kubelets (pod logs).")
    add("--kubelet-client-key", default="", help="Key of --kubelet-client-certificate.")
    add("--kubelet-preferred-address-types",
        default="Hostname,InternalDNS,InternalIP,ExternalDNS,ExternalIP",
        help="Node address types to reach kubelets at, in order of preference.")
    add("--service-node-port-range", default="30000-32767",
        help="Ports that NodePort Services are allocated from.")
    add("--etcd-compaction-interval", default="5m",
        help="How often old etcd revisions are compacted (Go duration, 0 disables).")
    add("--watch-cache-window", type=int, default=10_000,
        help="Events kept per resource for watches resuming from an older resourceVersion.")
    for name in SECURITY_FLAGS:
        if name in REPEATABLE_FLAGS:
            add(f"--{name}", default=None, action="append", help=f"upstream's --{name}")
        else:
            add(f"--{name}", default=None, help=f"upstream's --{name}")
    for name in NOT_YET_ENFORCED:
        add(f"--{name}", default=None, help=f"accepted; not yet enforced by kubeadmpy ({name})")
    return parser


def parse_settings(argv: list[str]) -> Settings:
    args = vars(build_parser().parse_args(argv))
    servers = tuple(s.strip() for s in args["etcd_servers"].split(",") if s.strip())
    if not servers:
        raise UserInputError("--etcd-servers", "no etcd URL given",
                             "Pass --etcd-servers=https://127.0.0.1:2379")
    for server in servers:
        if not server.startswith(("http://", "https://")):
            raise UserInputError("--etcd-servers", f"{server!r} is not an http(s) URL",
                                 "Use the form https://HOST:PORT")
    if not 0 < args["secure_port"] < 65536:
        raise UserInputError("--secure-port", f"{args['secure_port']} is not a port number",
                             "Pick a port between 1 and 65535")
    if bool(args["tls_cert_file"]) != bool(args["tls_private_key_file"]):
        raise UserInputError("--tls-cert-file", "needs --tls-private-key-file as well (and the "
                             "other way round)", "Pass both files")
    if not args["tls_cert_file"]:
        raise UserInputError("--tls-cert-file", "is required: this server only serves HTTPS",
                             "Pass --tls-cert-file and --tls-private-key-file "
                             "(kubeadmpy init writes /etc/kubernetes/pki/apiserver.crt)")
    not_enforced = {name: args[name.replace("-", "_")] for name in NOT_YET_ENFORCED
                    if args.get(name.replace("-", "_")) is not None}
    security_flags = {name: args[name.replace("-", "_")] for name in SECURITY_FLAGS
                      if args.get(name.replace("-", "_")) is not None}
    return Settings(
        etcd_servers=servers, etcd_cafile=args["etcd_cafile"],
        etcd_certfile=args["etcd_certfile"], etcd_keyfile=args["etcd_keyfile"],
        bind_address=args["bind_address"], secure_port=args["secure_port"],
        advertise_address=args["advertise_address"], tls_cert_file=args["tls_cert_file"],
        tls_private_key_file=args["tls_private_key_file"], client_ca_file=args["client_ca_file"],
        service_cluster_ip_range=args["service_cluster_ip_range"],
        service_node_port_range=args["service_node_port_range"],
        kubelet_client_certificate=args["kubelet_client_certificate"],
        kubelet_client_key=args["kubelet_client_key"],
        kubelet_preferred_address_types=tuple(
            t.strip() for t in args["kubelet_preferred_address_types"].split(",") if t.strip()),
        watch_cache_window=args["watch_cache_window"],
        etcd_compaction_interval=parse_duration_flag("--etcd-compaction-interval",
                                                     args["etcd_compaction_interval"]),
        security_flags=security_flags, not_enforced=not_enforced)


_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration_flag(flag: str, text: str) -> float:
    """Seconds in a Go duration such as 5m, 1m30s, 500ms or 0."""
    text = text.strip()
    if text == "0":
        return 0.0
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise UserInputError(flag, f"{text!r} is not a duration", "Use a value such as 5m0s, "
                             "90s or 0")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)
