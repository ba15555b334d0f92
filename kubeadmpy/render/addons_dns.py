"""The cluster DNS addon manifest: kubeadm's CoreDNS objects, served by `kubeadmpy-dns`.

kubeadm's `addon/coredns` phase creates a ServiceAccount, the `system:coredns` ClusterRole and
binding, the `coredns` Deployment (label `k8s-app=kube-dns`, system-cluster-critical, tolerating
the control-plane taint, `dnsPolicy: Default` so it inherits the node's resolvers) and the
`kube-dns` Service at the 10th address of the service subnet. Names and labels stay the same so
tools that look for `k8s-app=kube-dns` or `kube-system/kube-dns` work unchanged. The server's
flags (the Corefile's settings) are computed here; the template holds layout only. The result is
parsed back and checked: five objects of the expected kinds, and the Service's IP as asked.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import yaml

from kubeadmpy.render.environment import RenderedFile, RenderError, render_template

TEMPLATE = "addons/dns.yaml.j2"
KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment", "Service")
DEFAULT_REPLICAS = 2  # kubeadm's CoreDNS replica count


@dataclass(frozen=True)
class DnsAddonValues:
    image: str
    cluster_ip: str  # kubeadm: the 10th address of the service subnet (10.96.0.10)
    cluster_domain: str = "cluster.local"
    replicas: int = DEFAULT_REPLICAS
    ttl: int = 30
    metrics_port: int = 0  # 0: no metrics port (kubeadmpy-dns serves no metrics yet)


def dns_args(values: DnsAddonValues) -> list[str]:
    """The server's flags, sorted: what kubeadm's Corefile says, in flag form."""
    flags = {"cluster-domain": values.cluster_domain, "listen": "0.0.0.0:53",
             "resolv-conf": "/etc/resolv.conf", "ttl": str(values.ttl),
             "health-listen": "0.0.0.0:8080", "ready-listen": "0.0.0.0:8181"}
    return [f"--{name}={value}" for name, value in sorted(flags.items())]


def render_dns_addon(values: DnsAddonValues) -> RenderedFile:
    """The manifest (five YAML documents), parsed back and checked."""
    try:
        ipaddress.ip_address(values.cluster_ip)
    except ValueError as exc:
        raise RenderError(f"DNS Service IP {values.cluster_ip!r} is not an IP address") from exc
    content = render_template(TEMPLATE, image=values.image, cluster_ip=values.cluster_ip,
                              replicas=values.replicas, args=dns_args(values),
                              metrics_port=values.metrics_port)
    objects = parse_dns_addon(content)
    service = objects[KINDS.index("Service")]
    if service["spec"]["clusterIP"] != values.cluster_ip:
        raise RenderError(f"{TEMPLATE}: the Service's clusterIP did not parse back as "
                          f"{values.cluster_ip}")
    return RenderedFile(content, 0o644)


def parse_dns_addon(content: str) -> list[dict[str, Any]]:
    """The manifest's objects, in order; a RenderError when they are not the five expected."""
    try:
        objects = [doc for doc in yaml.safe_load_all(content) if doc is not None]
    except yaml.YAMLError as exc:
        raise RenderError(f"{TEMPLATE} did not parse back: {exc}") from exc
    kinds = tuple(obj.get("kind") if isinstance(obj, dict) else None for obj in objects)
    if kinds != KINDS:
        raise RenderError(f"{TEMPLATE} holds {kinds}, expected {KINDS}")
    return objects
