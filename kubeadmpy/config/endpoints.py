"""Where clients reach the API server: the control-plane endpoint and this node's own endpoint.

kubeadm writes the shared endpoint (controlPlaneEndpoint, else this node's advertise address and
bind port) into admin.conf, kubelet.conf and cluster-info, and the local endpoint into the
controller-manager and scheduler kubeconfigs. Both come from here so they cannot drift.
"""

from __future__ import annotations

from kubeadmpy.config import v1beta4
from kubeadmpy.config.netutil import join_host_port, split_host_port


def _local(local: v1beta4.InitConfiguration | v1beta4.APIEndpoint) -> v1beta4.APIEndpoint:
    return local.local_api_endpoint if isinstance(local, v1beta4.InitConfiguration) else local


def control_plane_endpoint(
    cluster: v1beta4.ClusterConfiguration, local: v1beta4.InitConfiguration | v1beta4.APIEndpoint
) -> tuple[str, int]:
    """(host, port) of the cluster's API endpoint; the port defaults to this node's bind port."""
    endpoint = _local(local)
    if cluster.control_plane_endpoint:
        host, port = split_host_port(cluster.control_plane_endpoint)
        return host, port if port is not None else endpoint.bind_port
    return endpoint.advertise_address, endpoint.bind_port


def api_server_url_for(
    cluster: v1beta4.ClusterConfiguration, local: v1beta4.InitConfiguration | v1beta4.APIEndpoint
) -> str:
    """The https URL of the cluster's API endpoint, e.g. https://10.0.0.10:6443."""
    return "https://" + join_host_port(*control_plane_endpoint(cluster, local))


def local_api_server_url(local: v1beta4.InitConfiguration | v1beta4.APIEndpoint) -> str:
    """The https URL of this node's own API server (advertise address and bind port)."""
    endpoint = _local(local)
    return "https://" + join_host_port(endpoint.advertise_address, endpoint.bind_port)
