"""The configuration API: kubeadm.k8s.io/v1beta4 kinds plus our kubeadmpy.io/v1alpha1 kind.

Other packages use only the names below: load a command's configuration (file + flags, defaulted
and validated) as a bundle, print documents, and derive endpoints and service IPs. Models live in
`v1beta4` and `v1alpha1`; import those modules for the types of nested fields.
"""

from kubeadmpy.config import v1alpha1, v1beta4
from kubeadmpy.config.components import kube_proxy_configuration, kubelet_configuration
from kubeadmpy.config.defaults import (
    CONTROL_PLANE_TAINT_KEY,
    DEFAULT_ENCRYPTION_ALGORITHM,
    KUBERNETES_VERSION,
    generate_token,
)
from kubeadmpy.config.documents import ConfigProblemsError
from kubeadmpy.config.durations import format_go_duration, parse_go_duration
from kubeadmpy.config.endpoints import (
    api_server_url_for,
    control_plane_endpoint,
    local_api_server_url,
)
from kubeadmpy.config.flags import InitFlags, JoinFlags, ResetFlags
from kubeadmpy.config.loader import (
    InitBundle,
    JoinBundle,
    ResetBundle,
    cluster_configuration_from_yaml,
    load_init_config,
    load_join_config,
    load_reset_config,
    validate_config_file,
)
from kubeadmpy.config.netutil import NodeFacts, detect_node_facts, service_ip
from kubeadmpy.config.printing import (
    cluster_configuration_yaml,
    dump_documents,
    init_defaults,
    join_defaults,
    reset_defaults,
)
from kubeadmpy.config.v1alpha1 import KubeadmpyConfiguration
from kubeadmpy.config.v1beta4 import (
    ClusterConfiguration,
    InitConfiguration,
    JoinConfiguration,
    ResetConfiguration,
)

__all__ = [
    "CONTROL_PLANE_TAINT_KEY",
    "DEFAULT_ENCRYPTION_ALGORITHM",
    "KUBERNETES_VERSION",
    "ClusterConfiguration",
    "ConfigProblemsError",
    "InitBundle",
    "InitConfiguration",
    "InitFlags",
    "JoinBundle",
    "JoinConfiguration",
    "JoinFlags",
    "KubeadmpyConfiguration",
    "NodeFacts",
    "ResetBundle",
    "ResetConfiguration",
    "ResetFlags",
    "api_server_url_for",
    "cluster_configuration_from_yaml",
    "cluster_configuration_yaml",
    "control_plane_endpoint",
    "detect_node_facts",
    "dump_documents",
    "format_go_duration",
    "generate_token",
    "init_defaults",
    "join_defaults",
    "kube_proxy_configuration",
    "kubelet_configuration",
    "load_init_config",
    "load_join_config",
    "load_reset_config",
    "local_api_server_url",
    "parse_go_duration",
    "reset_defaults",
    "service_ip",
    "v1alpha1",
    "v1beta4",
    "validate_config_file",
]
