"""The kubelet and kube-proxy component configs that kubeadm derives from the cluster config.

These are the cluster-wide values kubeadm enforces (reference §11, §12): what `config print
--component-configs` shows and what the kubelet-start and kube-proxy steps start from before a
user's own KubeletConfiguration / KubeProxyConfiguration document is merged over them.
"""

from __future__ import annotations

from typing import Any

from kubeadmpy.config import v1beta4
from kubeadmpy.config.documents import (
    KUBE_PROXY_API_VERSION,
    KUBE_PROXY_KIND,
    KUBELET_API_VERSION,
    KUBELET_KIND,
)
from kubeadmpy.config.netutil import service_ip

STATIC_POD_PATH = "/etc/kubernetes/manifests"
KUBE_PROXY_KUBECONFIG = "/var/lib/kube-proxy/kubeconfig.conf"
DNS_SERVICE_INDEX = 10
API_SERVICE_INDEX = 1


def kubelet_configuration(cluster: v1beta4.ClusterConfiguration) -> dict[str, Any]:
    return {
        "apiVersion": KUBELET_API_VERSION,
        "kind": KUBELET_KIND,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"cacheTTL": "0s", "enabled": True},
            "x509": {"clientCAFile": f"{cluster.certificates_dir}/ca.crt"},
        },
        "authorization": {
            "mode": "Webhook",
            "webhook": {"cacheAuthorizedTTL": "0s", "cacheUnauthorizedTTL": "0s"},
        },
        "cgroupDriver": "systemd",
        "clusterDNS": [str(service_ip(cluster.networking.service_subnet, DNS_SERVICE_INDEX))],
        "clusterDomain": cluster.networking.dns_domain,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "rotateCertificates": True,
        "staticPodPath": STATIC_POD_PATH,
    }


def kube_proxy_configuration(cluster: v1beta4.ClusterConfiguration) -> dict[str, Any]:
    ipv6_only = ":" in cluster.networking.service_subnet.split(",")[0]
    config: dict[str, Any] = {
        "apiVersion": KUBE_PROXY_API_VERSION,
        "kind": KUBE_PROXY_KIND,
        "bindAddress": "::" if ipv6_only else "0.0.0.0",
        "clientConnection": {"kubeconfig": KUBE_PROXY_KUBECONFIG},
    }
    if cluster.networking.pod_subnet:
        config["clusterCIDR"] = cluster.networking.pod_subnet
    return config
