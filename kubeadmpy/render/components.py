"""The control-plane component table: one `ComponentSpec` per static pod.

Each entry says how kubeadm builds that pod (default flags, probes, volumes, resources,
annotations) as functions of `ControlPlaneValues`; `kubeadmpy.render.staticpods` turns an entry
into a manifest. The python flavor uses the same entries: same flag names, same volumes and
probes, only the command and image differ, plus the python-only host volumes.

Differences of the python flavor from kubeadm's pods, all deliberate:
- commands ``kubeadmpy-apiserver``, ``kubeadmpy-controller-manager``, ``kubeadmpy-scheduler``
  (etcd stays ``etcd``: Debian's etcd 3.4, every rendered etcd flag exists there), and every pod
  uses the locally built ``python_image``;
- `extra_host_volumes` (read-only host folders such as the Python prefix) are added to each pod;
- etcd probes use ``/health`` (etcd 3.4 has no /livez and /readyz; these are the endpoints
  kubeadm itself used before 1.31). No kubeadm flag is dropped: our components accept them all.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from kubeadmpy.paths import KUBERNETES_DIR
from kubeadmpy.render.arguments import Arg, args, last_value, merge_args
from kubeadmpy.render.environment import RenderError
from kubeadmpy.render.probes import Probes, host_port, kubeadm_probes, probe_host
from kubeadmpy.render.values import (
    ComponentExtras,
    ControlPlaneValues,
    ExternalEtcd,
    HostPathMount,
    LocalEtcd,
)

ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
ETCD_METRICS_PORT = 2381
CONTROLLER_MANAGER_PORT = 10257
SCHEDULER_PORT = 10259
FLEXVOLUME_DIR = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec"
CA_CERTS_DIR = "/etc/ssl/certs"
# Folders where distributions keep CA bundles that /etc/ssl/certs may link into; kubeadm mounts
# those present on the host into the apiserver and controller-manager (hostfacts finds them).
OPTIONAL_CA_CERT_DIRS = (
    "/etc/pki/ca-trust",
    "/etc/pki/tls/certs",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/usr/local/share/ca-certificates",
)
CONTROLLER_MANAGER_KUBECONFIG = str(KUBERNETES_DIR / "controller-manager.conf")
SCHEDULER_KUBECONFIG = str(KUBERNETES_DIR / "scheduler.conf")


@dataclass(frozen=True)
class ComponentSpec:
    """How one control-plane static pod is made."""

    name: str
    upstream_command: str
    python_command: str
    cpu_request: str
    memory_request: str
    extras: Callable[[ControlPlaneValues], ComponentExtras]
    default_args: Callable[[ControlPlaneValues], list[Arg]]
    probes: Callable[[ControlPlaneValues, Sequence[Arg]], Probes]
    volumes: Callable[[ControlPlaneValues, Sequence[Arg]], list[HostPathMount]]
    annotations: Callable[[ControlPlaneValues], dict[str, str]]
    # Volume mounts listed first, in this order; the rest follow sorted by name. kubeadm lists
    # etcd's two mounts by hand (data, then certs) while every other list is sorted.
    mounts_first: tuple[str, ...] = ()

    def command(self, values: ControlPlaneValues) -> list[str]:
        """The container command: binary, then sorted ``--name=value`` flags."""
        binary = self.python_command if values.flavor == "python" else self.upstream_command
        return [binary] + [f"--{arg.name}={arg.value}" for arg in self.merged_args(values)]

    def merged_args(self, values: ControlPlaneValues) -> list[Arg]:
        return merge_args(self.default_args(values), self.extras(values).extra_args)


def _local_host(values: ControlPlaneValues) -> str:
    """The loopback address of the advertise address's family."""
    return "::1" if values.is_ipv6 else "127.0.0.1"


def _pki(values: ControlPlaneValues, name: str) -> str:
    return posixpath.join(values.certificates_dir, name)


def _feature_gates(values: ControlPlaneValues) -> list[Arg]:
    if not values.feature_gates:
        return []
    gates = ",".join(f"{name}={str(on).lower()}" for name, on in sorted(values.feature_gates))
    return [Arg("feature-gates", gates)]


# --- kube-apiserver ------------------------------------------------------------------------


def api_server_args(values: ControlPlaneValues) -> list[Arg]:
    extra = values.api_server.extra_args
    defaults = list(args(
        ("advertise-address", values.advertise_address),
        ("allow-privileged", "true"),
        ("client-ca-file", _pki(values, "ca.crt")),
        ("enable-admission-plugins", "NodeRestriction"),
        ("enable-bootstrap-token-auth", "true"),
        ("kubelet-client-certificate", _pki(values, "apiserver-kubelet-client.crt")),
        ("kubelet-client-key", _pki(values, "apiserver-kubelet-client.key")),
        ("kubelet-preferred-address-types", "InternalIP,ExternalIP,Hostname"),
        ("proxy-client-cert-file", _pki(values, "front-proxy-client.crt")),
        ("proxy-client-key-file", _pki(values, "front-proxy-client.key")),
        ("requestheader-allowed-names", "front-proxy-client"),
        ("requestheader-client-ca-file", _pki(values, "front-proxy-ca.crt")),
        ("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
        ("requestheader-group-headers", "X-Remote-Group"),
        ("requestheader-username-headers", "X-Remote-User"),
        ("secure-port", str(values.bind_port)),
        ("service-account-issuer", f"https://kubernetes.default.svc.{values.dns_domain}"),
        ("service-account-key-file", _pki(values, "sa.pub")),
        ("service-account-signing-key-file", _pki(values, "sa.key")),
        ("service-cluster-ip-range", values.service_subnet),
        ("tls-cert-file", _pki(values, "apiserver.crt")),
        ("tls-private-key-file", _pki(values, "apiserver.key")),
    ))
    # An authorization config file replaces the mode flag (the two cannot be combined).
    if last_value(extra, "authorization-config") is None:
        defaults.append(Arg("authorization-mode", "Node,RBAC"))
    if values.encryption_provider_config:
        defaults.append(Arg("encryption-provider-config", values.encryption_provider_config))
    defaults += _api_server_etcd_args(values)
    return defaults + _feature_gates(values)


def _api_server_etcd_args(values: ControlPlaneValues) -> list[Arg]:
    etcd = values.etcd
    if isinstance(etcd, ExternalEtcd):
        found = [Arg("etcd-servers", ",".join(etcd.endpoints))]
        if etcd.ca_file:
            found.append(Arg("etcd-cafile", etcd.ca_file))
        if etcd.cert_file and etcd.key_file:
            found += [Arg("etcd-certfile", etcd.cert_file), Arg("etcd-keyfile", etcd.key_file)]
        return found
    servers = f"https://{host_port(_local_host(values), ETCD_CLIENT_PORT)}"
    # A user who moves etcd's advertised client URL moves the apiserver with it.
    servers = last_value(etcd.extras.extra_args, "advertise-client-urls") or servers
    return list(args(
        ("etcd-cafile", _pki(values, "etcd/ca.crt")),
        ("etcd-certfile", _pki(values, "apiserver-etcd-client.crt")),
        ("etcd-keyfile", _pki(values, "apiserver-etcd-client.key")),
        ("etcd-servers", servers),
    ))


def api_server_probes(values: ControlPlaneValues, merged: Sequence[Arg]) -> Probes:
    host = probe_host(values.advertise_address)
    return kubeadm_probes(values, host=host, port=values.bind_port, scheme="HTTPS",
                          liveness="/livez", readiness="/readyz", startup="/livez")


def _ca_volumes(values: ControlPlaneValues) -> list[HostPathMount]:
    found = [
        HostPathMount("ca-certs", CA_CERTS_DIR, CA_CERTS_DIR, True, "DirectoryOrCreate"),
        HostPathMount("k8s-certs", values.certificates_dir, values.certificates_dir, True,
                      "DirectoryOrCreate"),
    ]
    for path in values.ca_cert_dirs:
        name = path.replace("/", "-").strip("-")
        found.append(HostPathMount(name, path, path, True, "DirectoryOrCreate"))
    return found


def _external_etcd_volumes(values: ControlPlaneValues) -> list[HostPathMount]:
    """Folders of external etcd client files not under a CA or PKI folder, parents winning."""
    etcd = values.etcd
    if not isinstance(etcd, ExternalEtcd):
        return []
    mounted = (CA_CERTS_DIR, values.certificates_dir, *OPTIONAL_CA_CERT_DIRS)
    dirs: set[str] = set()
    for path in (etcd.ca_file, etcd.cert_file, etcd.key_file):
        folder = posixpath.dirname(path)
        if not folder or folder.startswith(mounted):
            continue
        if any(folder.startswith(existing) for existing in dirs):
            continue
        dirs = {existing for existing in dirs if not existing.startswith(folder)} | {folder}
    return [HostPathMount(f"etcd-certs-{index}", folder, folder, True, "DirectoryOrCreate")
            for index, folder in enumerate(sorted(dirs))]


def _encryption_volumes(values: ControlPlaneValues) -> list[HostPathMount]:
    """The EncryptionConfiguration's folder, read-only: the server only reads its key."""
    if not values.encryption_provider_config:
        return []
    folder = posixpath.dirname(values.encryption_provider_config)
    return [HostPathMount("encryption-config", folder, folder, True, "DirectoryOrCreate")]


def api_server_volumes(values: ControlPlaneValues, merged: Sequence[Arg]) -> list[HostPathMount]:
    return _ca_volumes(values) + _external_etcd_volumes(values) + _encryption_volumes(values)


def api_server_annotations(values: ControlPlaneValues) -> dict[str, str]:
    endpoint = host_port(values.advertise_address, values.bind_port)
    return {"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": endpoint}


# --- kube-controller-manager ---------------------------------------------------------------


def controller_manager_args(values: ControlPlaneValues) -> list[Arg]:
    signing_cert, signing_key = _pki(values, "ca.crt"), _pki(values, "ca.key")
    if values.external_ca:
        # Without ca.key the CSR signer must not start; kubeadm passes empty paths for that.
        signing_cert = signing_key = ""
    found = list(args(
        ("authentication-kubeconfig", CONTROLLER_MANAGER_KUBECONFIG),
        ("authorization-kubeconfig", CONTROLLER_MANAGER_KUBECONFIG),
        ("bind-address", "127.0.0.1"),
        ("client-ca-file", _pki(values, "ca.crt")),
        ("cluster-signing-cert-file", signing_cert),
        ("cluster-signing-key-file", signing_key),
        ("controllers", "*,bootstrapsigner,tokencleaner"),
        ("kubeconfig", CONTROLLER_MANAGER_KUBECONFIG),
        ("leader-elect", "true"),
        ("requestheader-client-ca-file", _pki(values, "front-proxy-ca.crt")),
        ("root-ca-file", _pki(values, "ca.crt")),
        ("service-account-private-key-file", _pki(values, "sa.key")),
        ("use-service-account-credentials", "true"),
    ))
    if values.cluster_name:
        found.append(Arg("cluster-name", values.cluster_name))
    if values.pod_subnet:
        found += args(("allocate-node-cidrs", "true"), ("cluster-cidr", values.pod_subnet),
                      ("service-cluster-ip-range", values.service_subnet))
    return found + _feature_gates(values)


def _loopback_component_probes(values: ControlPlaneValues, extra: Sequence[Arg],
                               port: int) -> Probes:
    host = probe_host(last_value(extra, "bind-address") or "127.0.0.1")
    return kubeadm_probes(values, host=host, port=port, scheme="HTTPS",
                          liveness="/healthz", readiness=None, startup="/healthz")


def controller_manager_probes(values: ControlPlaneValues, merged: Sequence[Arg]) -> Probes:
    return _loopback_component_probes(values, values.controller_manager.extra_args,
                                      CONTROLLER_MANAGER_PORT)


def controller_manager_volumes(values: ControlPlaneValues,
                               merged: Sequence[Arg]) -> list[HostPathMount]:
    flex = last_value(values.controller_manager.extra_args, "flex-volume-plugin-dir")
    flex = flex or FLEXVOLUME_DIR
    return [
        *_ca_volumes(values),
        HostPathMount("flexvolume-dir", flex, flex, False, "DirectoryOrCreate"),
        HostPathMount("kubeconfig", CONTROLLER_MANAGER_KUBECONFIG, CONTROLLER_MANAGER_KUBECONFIG,
                      True, "FileOrCreate"),
    ]


# --- kube-scheduler ------------------------------------------------------------------------


def scheduler_args(values: ControlPlaneValues) -> list[Arg]:
    return list(args(
        ("authentication-kubeconfig", SCHEDULER_KUBECONFIG),
        ("authorization-kubeconfig", SCHEDULER_KUBECONFIG),
        ("bind-address", "127.0.0.1"),
        ("kubeconfig", SCHEDULER_KUBECONFIG),
        ("leader-elect", "true"),
    )) + _feature_gates(values)


def scheduler_probes(values: ControlPlaneValues, merged: Sequence[Arg]) -> Probes:
    return _loopback_component_probes(values, values.scheduler.extra_args, SCHEDULER_PORT)


def scheduler_volumes(values: ControlPlaneValues, merged: Sequence[Arg]) -> list[HostPathMount]:
    return [HostPathMount("kubeconfig", SCHEDULER_KUBECONFIG, SCHEDULER_KUBECONFIG, True,
                          "FileOrCreate")]


# --- etcd ----------------------------------------------------------------------------------


def _local_etcd(values: ControlPlaneValues) -> LocalEtcd:
    if not isinstance(values.etcd, LocalEtcd):
        raise RenderError("the etcd static pod exists only with local (stacked) etcd; "
                          "with external etcd, render the other components only")
    return values.etcd


def etcd_args(values: ControlPlaneValues) -> list[Arg]:
    etcd = _local_etcd(values)
    advertise, local = values.advertise_address, _local_host(values)
    client_url = f"https://{host_port(advertise, ETCD_CLIENT_PORT)}"
    peer_url = f"https://{host_port(advertise, ETCD_PEER_PORT)}"
    members = [f"{member.name}={member.peer_url}" for member in etcd.join_members]
    if values.node_name not in {member.name for member in etcd.join_members}:
        members.append(f"{values.node_name}={peer_url}")
    found = list(args(
        ("name", values.node_name),
        ("advertise-client-urls", client_url),
        ("cert-file", _pki(values, "etcd/server.crt")),
        ("key-file", _pki(values, "etcd/server.key")),
        ("client-cert-auth", "true"),
        ("data-dir", etcd.data_dir),
        ("experimental-initial-corrupt-check", "true"),
        ("experimental-watch-progress-notify-interval", "5s"),
        ("initial-advertise-peer-urls", peer_url),
        ("initial-cluster", ",".join(members)),
        ("listen-client-urls", f"https://{host_port(local, ETCD_CLIENT_PORT)},{client_url}"),
        ("listen-metrics-urls", f"http://{host_port(local, ETCD_METRICS_PORT)}"),
        ("listen-peer-urls", peer_url),
        ("peer-cert-file", _pki(values, "etcd/peer.crt")),
        ("peer-key-file", _pki(values, "etcd/peer.key")),
        ("peer-client-cert-auth", "true"),
        ("peer-trusted-ca-file", _pki(values, "etcd/ca.crt")),
        ("snapshot-count", "10000"),
        ("trusted-ca-file", _pki(values, "etcd/ca.crt")),
    ))
    if etcd.join_members:
        found.append(Arg("initial-cluster-state", "existing"))
    return found


def etcd_probes(values: ControlPlaneValues, merged: Sequence[Arg]) -> Probes:
    metrics = last_value(merged, "listen-metrics-urls") or ""
    first = urlsplit(metrics.split(",")[0])
    host = first.hostname or _local_host(values)
    port = first.port or ETCD_METRICS_PORT
    scheme: Literal["HTTP", "HTTPS"] = "HTTPS" if first.scheme == "https" else "HTTP"
    if values.flavor == "upstream" and values.version.etcd_has_livez:
        return kubeadm_probes(values, host=host, port=port, scheme=scheme,
                              liveness="/livez", readiness="/readyz", startup="/readyz")
    return kubeadm_probes(values, host=host, port=port, scheme=scheme,
                          liveness="/health?exclude=NOSPACE&serializable=true", readiness=None,
                          startup="/health?serializable=false")


def etcd_volumes(values: ControlPlaneValues, merged: Sequence[Arg]) -> list[HostPathMount]:
    data_dir, certs = _local_etcd(values).data_dir, _pki(values, "etcd")
    return [
        HostPathMount("etcd-certs", certs, certs, False, "DirectoryOrCreate"),
        HostPathMount("etcd-data", data_dir, data_dir, False, "DirectoryOrCreate"),
    ]


def etcd_annotations(values: ControlPlaneValues) -> dict[str, str]:
    url = f"https://{host_port(values.advertise_address, ETCD_CLIENT_PORT)}"
    return {"kubeadm.kubernetes.io/etcd.advertise-client-urls": url}


def _no_annotations(values: ControlPlaneValues) -> dict[str, str]:
    return {}


COMPONENTS: dict[str, ComponentSpec] = {
    spec.name: spec
    for spec in (
        ComponentSpec("etcd", "etcd", "etcd", "100m", "100Mi",
                      lambda values: _local_etcd(values).extras, etcd_args, etcd_probes,
                      etcd_volumes, etcd_annotations, mounts_first=("etcd-data", "etcd-certs")),
        ComponentSpec("kube-apiserver", "kube-apiserver", "kubeadmpy-apiserver", "250m", "",
                      lambda values: values.api_server, api_server_args, api_server_probes,
                      api_server_volumes, api_server_annotations),
        ComponentSpec("kube-controller-manager", "kube-controller-manager",
                      "kubeadmpy-controller-manager", "200m", "",
                      lambda values: values.controller_manager, controller_manager_args,
                      controller_manager_probes, controller_manager_volumes, _no_annotations),
        ComponentSpec("kube-scheduler", "kube-scheduler", "kubeadmpy-scheduler", "100m", "",
                      lambda values: values.scheduler, scheduler_args, scheduler_probes,
                      scheduler_volumes, _no_annotations),
    )
}
