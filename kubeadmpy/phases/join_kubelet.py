"""Join's kubelet-start: from a discovered cluster to a node with its own credentials.

kubeadm's steps, in its order: read the cluster's configuration with the TLS-bootstrap token
(kube-system/kubeadm-config and kubelet-config, readable by bootstrappers), refuse a node name
that is already a Ready node, write bootstrap-kubelet.conf and the cluster CA, write the kubelet's
config.yaml (the cluster's KubeletConfiguration) and kubeadm-flags.env (this node's flags), start
the kubelet, and wait until its TLS bootstrap has produced kubelet.conf and the Node exists. The
kubelet does the bootstrap itself (`kubeadmpy.kubelet.bootstrap`): a CSR the controller-manager
approves and signs.
"""

from __future__ import annotations

import copy
import socket
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

from kubeadmpy.client import Client, ClientConfig, TokenSource, errors, load_kubeconfig
from kubeadmpy.config import v1beta4
from kubeadmpy.config.documents import parse_config
from kubeadmpy.errors import ConfigError, KubeadmpyError
from kubeadmpy.files import write_file
from kubeadmpy.paths import KUBERNETES_DIR, HostPaths
from kubeadmpy.phases import apiclient
from kubeadmpy.phases.discovery import DiscoveredCluster
from kubeadmpy.render import Arg, KubeletValues
from kubeadmpy.render.kubelet import Taint
from kubeadmpy.supervisor import systemd_is_init

BOOTSTRAP_KUBELET_CONF = KUBERNETES_DIR / "bootstrap-kubelet.conf"
KUBELET_CONF = KUBERNETES_DIR / "kubelet.conf"
KUBE_SYSTEM = "kube-system"
# Set by this node, not by the cluster: the runtime and cgroup driver this machine's containerd
# was configured with (kubeadmpy sets containerd up on each node).
NODE_LOCAL_KUBELET_FIELDS = ("cgroupDriver", "containerRuntimeEndpoint")


class JoinError(KubeadmpyError):
    """Join cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class ClusterSettings:
    """What join reads from the cluster: its ClusterConfiguration and KubeletConfiguration."""

    cluster: v1beta4.ClusterConfiguration
    kubelet: dict[str, Any]


def token_client(cluster: DiscoveredCluster, token: str) -> Client:
    """A client authenticated with the bootstrap token, trusting the discovered CA."""
    return Client(ClientConfig(server=cluster.server, ca_pem=cluster.ca_pem,
                               token_source=TokenSource(token), user_agent="kubeadmpy-join",
                               request_timeout=30.0))


async def _config_map(client: Client, name: str, key: str) -> str:
    try:
        found = await client.get("configmaps", name, KUBE_SYSTEM)
    except errors.Unauthorized as exc:
        raise JoinError(
            f"the API server did not accept the TLS bootstrap token ({exc.message}): it is "
            "invalid or has expired. Use 'kubeadmpy token create' on the control-plane node"
        ) from exc
    except errors.Forbidden as exc:
        raise JoinError(
            f"the TLS bootstrap token may not read ConfigMap {KUBE_SYSTEM}/{name}: "
            f"{exc.message}. Its Role is created by 'kubeadmpy init phase upload-config'"
        ) from exc
    except errors.NotFound as exc:
        raise JoinError(
            f"ConfigMap {KUBE_SYSTEM}/{name} does not exist: run 'kubeadmpy init phase "
            "upload-config all' on the control-plane node"
        ) from exc
    value = (found.get("data") or {}).get(key)
    if not value:
        raise JoinError(f"ConfigMap {KUBE_SYSTEM}/{name} has no {key!r} key")
    return str(value)


async def read_cluster_settings(cluster: DiscoveredCluster, token: str) -> ClusterSettings:
    async with token_client(cluster, token) as client:
        cluster_yaml = await _config_map(client, "kubeadm-config", "ClusterConfiguration")
        kubelet_yaml = await _config_map(client, "kubelet-config", "kubelet")
    source = f"ConfigMap {KUBE_SYSTEM}/kubeadm-config"
    try:
        parsed = parse_config(cluster_yaml, source).get(v1beta4.ClusterConfiguration.KIND)
        kubelet = yaml.safe_load(kubelet_yaml)
    except (ConfigError, yaml.YAMLError) as exc:
        raise JoinError(f"the cluster's configuration cannot be read: {exc}") from exc
    if parsed is None or not isinstance(kubelet, dict):
        raise JoinError(f"{source} or kubelet-config holds no configuration document")
    return ClusterSettings(cluster=parsed, kubelet=kubelet)


async def check_node_name_free(cluster: DiscoveredCluster, token: str, node_name: str) -> None:
    """kubeadm refuses to join over a Ready node of the same name."""
    async with token_client(cluster, token) as client:
        try:
            node = await client.get("nodes", node_name)
        except (errors.NotFound, errors.Forbidden):
            return
    conditions = (node.get("status") or {}).get("conditions") or []
    if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
        raise JoinError(
            f'a Node with name "{node_name}" and status "Ready" already exists in the cluster. '
            "You must delete the existing Node or change the name of this new joining Node "
            "(--node-name)"
        )


def kubelet_values(join: v1beta4.JoinConfiguration, settings: ClusterSettings,
                   flavor: str) -> KubeletValues:
    """This node's kubelet files: the cluster's KubeletConfiguration, this node's flags."""
    registration = join.node_registration
    kubelet = copy.deepcopy(settings.kubelet)
    for field in NODE_LOCAL_KUBELET_FIELDS:
        kubelet.pop(field, None)
    networking = settings.cluster.networking
    return KubeletValues(
        flavor=flavor,  # type: ignore[arg-type]
        node_name=registration.name,
        hostname=socket.gethostname().lower(),
        service_subnet=networking.service_subnet,
        dns_domain=networking.dns_domain,
        certificates_dir=settings.cluster.certificates_dir,
        cri_socket=registration.cri_socket,
        register_with_taints=tuple(
            Taint(t.key, t.effect, t.value) for t in registration.taints or []  # type: ignore[arg-type]
        ),
        kubelet_extra_args=tuple(Arg(a.name, a.value) for a in registration.kubelet_extra_args),
        user_config=kubelet,
        cgroup_driver="systemd" if systemd_is_init() else "cgroupfs",
    )


def write_credentials(paths: HostPaths, ca_cert_path: str, kubeconfig: str,
                      ca_pem: bytes) -> list[PurePosixPath]:
    """bootstrap-kubelet.conf and the cluster CA (kept if already there, as kubeadm does)."""
    written = [BOOTSTRAP_KUBELET_CONF]
    write_file(paths.host(BOOTSTRAP_KUBELET_CONF), kubeconfig, mode=0o600, dir_mode=0o755)
    ca_path = paths.host(ca_cert_path)
    if not ca_path.exists():
        write_file(ca_path, ca_pem, mode=0o644, dir_mode=0o755)
        written.append(PurePosixPath(ca_cert_path))
    return written


async def _node_exists(paths: HostPaths, node_name: str) -> bool:
    async with Client(load_kubeconfig(paths.host(KUBELET_CONF))) as client:
        try:
            await client.get("nodes", node_name)
            return True
        except (errors.NotFound, errors.TransportError, errors.ServerError):
            return False


def wait_for_tls_bootstrap(paths: HostPaths, node_name: str, timeout_seconds: float,
                           kubelet_log: str) -> float:
    """Wait until the kubelet wrote kubelet.conf and its Node is registered; the seconds taken."""
    started = time.monotonic()
    deadline = started + timeout_seconds
    kubelet_conf = paths.host(KUBELET_CONF)
    while True:
        if kubelet_conf.exists() and apiclient.run(lambda: _node_exists(paths, node_name)):
            return time.monotonic() - started
        if time.monotonic() > deadline:
            what = ("registered its Node" if kubelet_conf.exists()
                    else f"written {KUBELET_CONF}")
            raise JoinError(
                f"timed out after {timeout_seconds:.0f}s waiting for the kubelet to perform the "
                f"TLS Bootstrap: it has not {what}. Is the controller-manager approving and "
                f"signing CSRs ('kubectl get csr' on the control plane)? See {kubelet_log}"
            )
        time.sleep(0.5)
