"""The flannel addon: upstream's kube-flannel.yml objects, with `kubeadmpy-flanneld` as the program,
and the host's CNI config.

Upstream's manifest makes the `kube-flannel` namespace, the `flannel` ServiceAccount and
ClusterRole (pods get; nodes get/list/watch; nodes/status patch) with its binding, the
`kube-flannel-cfg` ConfigMap (`cni-conf.json`, `net-conf.json`) and the `kube-flannel-ds`
DaemonSet. Names and labels stay upstream's. Two differences, both because the code here is
Python rather than static binaries:

- The CNI plugin and `/etc/cni/net.d/10-flannel.conflist` are installed on the host by init and
  join (`kubeadmpy.phases.pod_network`), not copied by init containers: containerd execs the
  plugin on the host, with the host's interpreter.
- The flanneld container gets KUBERNETES_SERVICE_HOST/PORT set to the control-plane endpoint
  instead of the `kubernetes` Service's ClusterIP. The ClusterIP is reachable from the host
  network only once kube-proxy runs on the node; with the endpoint, the pod network does not
  depend on kube-proxy (it comes up with `--skip-phases addon/kube-proxy` too, and a node's
  pods get their network while its kube-proxy is still starting).

Values are computed here; the templates hold layout; the results are parsed back and checked
(net-conf.json by flanneld's own parser).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from kubeadmpy.errors import ConfigError, UserInputError
from kubeadmpy.network import netconf
from kubeadmpy.render.addons_manifest import parse_manifest
from kubeadmpy.render.environment import RenderedFile, RenderError, render_template

TEMPLATE = "addons/flannel.yaml.j2"
CNI_TEMPLATE = "addons/10-flannel.conflist.j2"
KINDS = ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap",
         "DaemonSet")
NAMESPACE = "kube-flannel"
CNI_NETWORK_NAME = "cbr0"  # upstream's cni-conf.json name (host-local keeps IPs under it)
CNI_VERSION = "0.3.1"
DELEGATE = {"hairpinMode": True, "isDefaultGateway": True}


@dataclass(frozen=True)
class FlannelAddonValues:
    image: str
    network: str  # the pod network: networking.podSubnet
    api_host: str  # the control-plane endpoint flanneld talks to
    api_port: int
    vni: int = netconf.DEFAULT_VNI
    port: int = netconf.DEFAULT_PORT
    mtu: int | None = None  # the pods' MTU (KubeadmpyConfiguration); None: uplink MTU - 50


def net_conf(values: FlannelAddonValues) -> dict[str, Any]:
    """net-conf.json. Upstream's Backend.MTU is the underlay's MTU, kubeadmpy's
    `network.flannel.mtu` the pods' one, so the VXLAN overhead is added back."""
    backend: dict[str, Any] = {"Type": "vxlan", "VNI": values.vni, "Port": values.port}
    if values.mtu is not None:
        backend["MTU"] = values.mtu + netconf.ENCAP_OVERHEAD
    return {"Network": values.network, "Backend": backend}


def check_pod_network(network: str) -> None:
    """flanneld's VXLAN backend is IPv4 only: a dual-stack or IPv6 podSubnet is the user's
    to change, named as such (not a RenderError from net-conf.json)."""
    try:
        ipaddress.IPv4Network(network)
    except ValueError as exc:
        raise UserInputError(
            "networking.podSubnet", f"{network!r} is not one IPv4 network ({exc})",
            "kubeadmpy's flannel is IPv4 only: pass one IPv4 CIDR such as "
            "--pod-network-cidr 10.244.0.0/16") from exc


def flanneld_command() -> list[str]:
    return ["kubeadmpy-flanneld", "--ip-masq", "--kube-subnet-mgr"]


def flanneld_env(values: FlannelAddonValues) -> list[tuple[str, str]]:
    return [("KUBERNETES_SERVICE_HOST", values.api_host),
            ("KUBERNETES_SERVICE_PORT", str(values.api_port))]


def render_cni_conflist() -> str:
    """The host's /etc/cni/net.d/10-flannel.conflist (upstream's cni-conf.json)."""
    content = render_template(CNI_TEMPLATE, network_name=CNI_NETWORK_NAME, cni_version=CNI_VERSION,
                              delegate=DELEGATE,
                              portmap_capabilities={"portMappings": True})
    try:
        parsed = json.loads(content)
    except ValueError as exc:
        raise RenderError(f"{CNI_TEMPLATE} did not parse back as JSON: {exc}") from exc
    types = [plugin.get("type") for plugin in parsed.get("plugins") or []]
    if parsed.get("name") != CNI_NETWORK_NAME or types != ["flannel", "portmap"]:
        raise RenderError(f"{CNI_TEMPLATE}: expected network {CNI_NETWORK_NAME} with plugins "
                          f"flannel, portmap; got {parsed.get('name')!r} with {types}")
    return content


def render_flannel_addon(values: FlannelAddonValues) -> RenderedFile:
    """The manifest (six YAML documents), parsed back and checked."""
    check_pod_network(values.network)
    conf = json.dumps(net_conf(values), indent=2) + "\n"
    try:
        parsed = netconf.parse_net_conf(conf, source="kube-flannel-cfg net-conf.json")
    except ConfigError as exc:
        raise RenderError(f"the rendered net-conf.json is not one flanneld accepts: {exc}"
                          ) from exc
    if str(parsed.network) != values.network:
        raise RenderError(f"net-conf.json Network read back as {parsed.network}, "
                          f"not {values.network}")
    content = render_template(TEMPLATE, image=values.image, cni_conf=render_cni_conflist(),
                              net_conf=conf, command=flanneld_command(),
                              env=flanneld_env(values))
    objects = parse_flannel_addon(content)
    if objects[KINDS.index("ConfigMap")]["data"]["net-conf.json"] != conf:
        raise RenderError(f"{TEMPLATE}: net-conf.json did not parse back as rendered")
    return RenderedFile(content, 0o644)


def parse_flannel_addon(content: str) -> list[dict[str, Any]]:
    """The manifest's objects, in order; a RenderError when they are not the six expected."""
    return parse_manifest(content, TEMPLATE, KINDS)
