"""The kube-proxy addon: kubeadm's kube-proxy objects, with `kubeadmpy-proxy` as the program.

kubeadm's `addon/kube-proxy` phase creates the `kube-proxy` ServiceAccount, binds it to
`system:node-proxier` (ClusterRoleBinding `kubeadm:node-proxier`), stores the proxy's
KubeProxyConfiguration and a kubeconfig in ConfigMap `kube-proxy`, and runs a privileged,
host-network DaemonSet on every node. Names, labels and the command line are kubeadm's, so
`kubectl -n kube-system get ds kube-proxy` and `kubectl logs` read as on any kubeadm cluster.

Values are computed here (the configuration is a dict merged from kubeadm's defaults, the
user's own KubeProxyConfiguration and mode `nftables`); the template holds layout. The result
is parsed back and checked: the four objects, and a config.conf and kubeconfig.conf that read
back as what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from kubeadmpy.config.components import KUBE_PROXY_KUBECONFIG
from kubeadmpy.errors import UserInputError
from kubeadmpy.render.addons_manifest import parse_manifest
from kubeadmpy.render.environment import RenderedFile, RenderError, render_template

TEMPLATE = "addons/kube-proxy.yaml.j2"
KINDS = ("ServiceAccount", "ClusterRoleBinding", "ConfigMap", "DaemonSet")
CONFIG_DIR = "/var/lib/kube-proxy"
CONFIG_FILE = f"{CONFIG_DIR}/config.conf"
MODE = "nftables"  # the only mode kubeadmpy-proxy implements
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass(frozen=True)
class ProxyAddonValues:
    image: str
    server: str  # the control-plane endpoint, https://host:port
    base_config: dict[str, Any]  # kubeadm's KubeProxyConfiguration for this cluster
    user_config: dict[str, Any] | None = field(default=None)  # the user's document, if any


def proxy_configuration(values: ProxyAddonValues) -> dict[str, Any]:
    """config.conf: kubeadm's defaults, the user's document over them, mode nftables.

    A user mode other than nftables is refused here, naming the field, rather than later as a
    crash-looping DaemonSet on every node.
    """
    config = _merged(values.base_config, values.user_config or {})
    mode = config.get("mode") or MODE
    if mode != MODE:
        raise UserInputError(
            "KubeProxyConfiguration.mode", f"{mode!r} is not supported",
            f"kubeadmpy-proxy implements only {MODE!r}: set mode: {MODE} or leave it out")
    config["mode"] = mode
    return config


def _merged(base: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """`user` over `base`, mappings merged key by key (a user's clientConnection.qps keeps
    kubeadm's clientConnection.kubeconfig)."""
    merged = dict(base)
    for key, value in user.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def proxy_kubeconfig(server: str) -> dict[str, Any]:
    """kubeconfig.conf: the control-plane endpoint, the pod's service-account token and CA."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "default", "cluster": {
            "certificate-authority": f"{SERVICE_ACCOUNT_DIR}/ca.crt", "server": server}}],
        "contexts": [{"name": "default", "context": {
            "cluster": "default", "namespace": "default", "user": "default"}}],
        "current-context": "default",
        "users": [{"name": "default", "user": {"tokenFile": f"{SERVICE_ACCOUNT_DIR}/token"}}],
    }


def proxy_command() -> list[str]:
    return ["kubeadmpy-proxy", f"--config={CONFIG_FILE}", "--hostname-override=$(NODE_NAME)"]


def render_proxy_addon(values: ProxyAddonValues) -> RenderedFile:
    """The manifest (four YAML documents), parsed back and checked."""
    config = proxy_configuration(values)
    kubeconfig = proxy_kubeconfig(values.server)
    kubeconfig_path = config.get("clientConnection", {}).get("kubeconfig")
    if kubeconfig_path != KUBE_PROXY_KUBECONFIG:
        raise RenderError(f"clientConnection.kubeconfig is {kubeconfig_path!r}; the DaemonSet "
                          f"mounts the kubeconfig at {KUBE_PROXY_KUBECONFIG}")
    content = render_template(TEMPLATE, image=values.image, config_conf=config,
                              kubeconfig_conf=kubeconfig, command=proxy_command(),
                              config_dir=CONFIG_DIR)
    objects = parse_proxy_addon(content)
    data = objects[KINDS.index("ConfigMap")]["data"]
    if (yaml.safe_load(data["config.conf"]) != config
            or yaml.safe_load(data["kubeconfig.conf"]) != kubeconfig):
        raise RenderError(f"{TEMPLATE}: the kube-proxy ConfigMap did not parse back as rendered")
    return RenderedFile(content, 0o644)


def parse_proxy_addon(content: str) -> list[dict[str, Any]]:
    """The manifest's objects, in order; a RenderError when they are not the four expected."""
    return parse_manifest(content, TEMPLATE, KINDS)
