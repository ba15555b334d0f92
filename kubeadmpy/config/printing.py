"""Writing config documents as YAML: `config print`, the kubeadm-config ConfigMap, dry runs.

Output matches kubeadm's: keys sorted, lists not indented under their key, empty fields omitted (codec rules), documents separated by
`---`, durations in Go form. `config print *-defaults` uses kubeadm's placeholders (token
abcdef.0123456789abcdef, advertise address 1.2.3.4, node name `node`) instead of this machine's
facts, and adds our KubeadmpyConfiguration document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from kubeadmpy.config import components, defaults, documents, v1alpha1, v1beta4
from kubeadmpy.config.netutil import NodeFacts
from kubeadmpy.errors import UserInputError

PLACEHOLDER_TOKEN = "abcdef.0123456789abcdef"
PLACEHOLDER_FACTS = NodeFacts(hostname="node", advertise_address="1.2.3.4")
PLACEHOLDER_API_SERVER_ENDPOINT = "kube-apiserver:6443"
COMPONENT_CONFIGS = (documents.KUBELET_KIND, documents.KUBE_PROXY_KIND)


def dump_documents(objs: Iterable[Any]) -> str:
    """Multi-document YAML of config objects (typed or raw dicts), in the order given."""
    parts = []
    for obj in objs:
        document = obj if isinstance(obj, dict) else documents.to_document(obj)
        parts.append(yaml.safe_dump(document, sort_keys=True,
                               default_flow_style=False, allow_unicode=True))
    return "---\n".join(parts)


def cluster_configuration_yaml(cluster: v1beta4.ClusterConfiguration) -> str:
    """What the kube-system/kubeadm-config ConfigMap stores under key ClusterConfiguration."""
    return dump_documents([cluster])


def _component_configs(names: Iterable[str],
                       cluster: v1beta4.ClusterConfiguration) -> list[dict[str, Any]]:
    builders = {documents.KUBELET_KIND: components.kubelet_configuration,
                documents.KUBE_PROXY_KIND: components.kube_proxy_configuration}
    result = []
    for name in names:
        if name not in builders:
            raise UserInputError("--component-configs", f"{name!r} is not a component config",
                                 f"Use {' or '.join(COMPONENT_CONFIGS)}")
        result.append(builders[name](cluster))
    return result


def init_defaults(component_configs: Iterable[str] = ()) -> list[Any]:
    """The documents of `config print init-defaults`."""
    warnings: list[str] = []
    init = v1beta4.InitConfiguration(
        bootstrap_tokens=[v1beta4.BootstrapToken(token=PLACEHOLDER_TOKEN)])
    defaults.default_init(init, PLACEHOLDER_FACTS, warnings)
    init.node_registration.taints = None  # kubeadm prints `taints: null` (= the default taint)
    cluster = defaults.default_cluster(v1beta4.ClusterConfiguration(), warnings)
    kubeadmpy = defaults.default_kubeadmpy(v1alpha1.KubeadmpyConfiguration())
    return [init, cluster, kubeadmpy, *_component_configs(component_configs, cluster)]


def join_defaults(component_configs: Iterable[str] = ()) -> list[Any]:
    """The documents of `config print join-defaults`."""
    warnings: list[str] = []
    join = v1beta4.JoinConfiguration()
    join.discovery.bootstrap_token = v1beta4.BootstrapTokenDiscovery(
        token=PLACEHOLDER_TOKEN, api_server_endpoint=PLACEHOLDER_API_SERVER_ENDPOINT,
        unsafe_skip_ca_verification=True)
    defaults.default_join(join, PLACEHOLDER_FACTS, warnings)
    join.node_registration.taints = None
    cluster = defaults.default_cluster(v1beta4.ClusterConfiguration(), warnings)
    kubeadmpy = defaults.default_kubeadmpy(v1alpha1.KubeadmpyConfiguration())
    return [join, kubeadmpy, *_component_configs(component_configs, cluster)]


def reset_defaults(component_configs: Iterable[str] = ()) -> list[Any]:
    """The documents of `config print reset-defaults` (no component configs apply)."""
    if list(component_configs):
        raise UserInputError("--component-configs", "does not apply to reset-defaults",
                             "Drop the flag")
    return [defaults.default_reset(v1beta4.ResetConfiguration(), [])]


def print_defaults(which: str, component_configs: str = "") -> str:
    """YAML of `config print <which>-defaults`; `component_configs` is a comma list of kinds."""
    builders = {"init": init_defaults, "join": join_defaults, "reset": reset_defaults}
    names = [name.strip() for name in component_configs.split(",") if name.strip()]
    return dump_documents(builders[which](names))


def migrate_documents(text: str, source: str) -> str:
    """`config migrate`: the file's kubeadm documents in v1beta4 form, as written (not defaulted,
    so no machine-specific values creep in); other kinds are carried over unchanged."""
    parsed = documents.parse_config(text, source)
    ordered = sorted(parsed.documents.values(), key=lambda document: document.index)
    values = [document.value for document in ordered]
    if parsed.control_plane_timeout is not None:
        init = parsed.get(v1beta4.InitConfiguration.KIND)
        if init is None:
            init = v1beta4.InitConfiguration()
            values.insert(0, init)
        init.timeouts = init.timeouts or v1beta4.Timeouts()
        if init.timeouts.control_plane_component_health_check is None:
            init.timeouts.control_plane_component_health_check = parsed.control_plane_timeout
    return dump_documents(values)
