"""kubeadmpy.dns: `kubeadmpy-dns`, the cluster DNS server (kubeadm's CoreDNS addon).

It serves the Kubernetes DNS specification the way CoreDNS's kubernetes plugin does with
kubeadm's Corefile (`pods insecure`, `ttl 30`, PTR for cluster IPs, everything else forwarded
to the node's resolvers), from in-memory indexes that informers keep current.
"""

from kubeadmpy.dns.config import DnsSettings, parse_settings
from kubeadmpy.dns.forward import Forwarder, Upstream, read_resolv_conf
from kubeadmpy.dns.index import ClusterIndex
from kubeadmpy.dns.lookup import Answer, Zone, lookup
from kubeadmpy.dns.records import Endpoint, Port, ServiceView, service_view
from kubeadmpy.dns.server import DnsHandler, serve

__all__ = [
    "Answer", "ClusterIndex", "DnsHandler", "DnsSettings", "Endpoint", "Forwarder", "Port",
    "ServiceView", "Upstream", "Zone", "lookup", "parse_settings", "read_resolv_conf",
    "serve", "service_view",
]
