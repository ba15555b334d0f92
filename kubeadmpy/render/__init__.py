"""Rendering of node files: control-plane static pods, the API server's EncryptionConfiguration,
kubelet and containerd configuration, systemd units.

Every renderer takes explicit values (frozen dataclasses; the config module maps kubeadm
configuration onto them), renders a Jinja2 template from templates/, parses the result back and
checks it, and returns ``{logical path: RenderedFile(content, mode)}``. Phases write those with
`kubeadmpy.files.write_file` through `HostPaths`; ``--dry-run`` prints them.
"""

from kubeadmpy.render.arguments import Arg, arguments_to_command, merge_args
from kubeadmpy.render.components import COMPONENTS, ComponentSpec
from kubeadmpy.render.containerd import (
    ContainerdValues,
    needs_restrict_oom_score_adj,
    render_containerd_config,
)
from kubeadmpy.render.encryption import (
    ENCRYPTION_CONFIG,
    ENCRYPTION_DIR,
    EncryptionValues,
    new_encryption_key,
    render_encryption_config,
)
from kubeadmpy.render.environment import RenderedFile, RenderError
from kubeadmpy.render.hostfacts import present_ca_cert_dirs, proxy_env
from kubeadmpy.render.kubelet import KubeletValues, Taint, cluster_dns_ip, render_kubelet
from kubeadmpy.render.node import dry_run_text, render_node, write_rendered
from kubeadmpy.render.probes import Probe, Probes
from kubeadmpy.render.staticpods import (
    manifest_path,
    render_control_plane,
    render_etcd,
    render_static_pod,
)
from kubeadmpy.render.units import render_containerd_unit, render_kubelet_units
from kubeadmpy.render.values import (
    ComponentExtras,
    ControlPlaneValues,
    EnvVar,
    EtcdMember,
    ExternalEtcd,
    HostPathMount,
    LocalEtcd,
)
from kubeadmpy.render.versions import ETCD_IMAGE_TAGS, PAUSE_IMAGE_TAGS, parse_kubernetes_version

__all__ = [
    "COMPONENTS",
    "ENCRYPTION_CONFIG",
    "ENCRYPTION_DIR",
    "ETCD_IMAGE_TAGS",
    "PAUSE_IMAGE_TAGS",
    "Arg",
    "ComponentExtras",
    "ComponentSpec",
    "ContainerdValues",
    "ControlPlaneValues",
    "EncryptionValues",
    "EnvVar",
    "EtcdMember",
    "ExternalEtcd",
    "HostPathMount",
    "KubeletValues",
    "LocalEtcd",
    "Probe",
    "Probes",
    "RenderError",
    "RenderedFile",
    "Taint",
    "arguments_to_command",
    "cluster_dns_ip",
    "dry_run_text",
    "manifest_path",
    "merge_args",
    "needs_restrict_oom_score_adj",
    "new_encryption_key",
    "parse_kubernetes_version",
    "present_ca_cert_dirs",
    "proxy_env",
    "render_containerd_config",
    "render_containerd_unit",
    "render_control_plane",
    "render_encryption_config",
    "render_etcd",
    "render_kubelet",
    "render_kubelet_units",
    "render_node",
    "render_static_pod",
    "write_rendered",
]

