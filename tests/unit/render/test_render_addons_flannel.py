"""The flannel addon renders to upstream's kube-flannel.yml objects with kubeadmpy-flanneld as the
command; net-conf.json is one flanneld accepts; the host conflist is upstream's cni-conf.json."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from kubeadmpy.errors import UserInputError
from kubeadmpy.network import netconf
from kubeadmpy.network.flanneld import parse_settings
from kubeadmpy.render.addons_flannel import (
    FlannelAddonValues,
    parse_flannel_addon,
    render_cni_conflist,
    render_flannel_addon,
)

VALUES = FlannelAddonValues(image="kubeadmpy.local/control-plane:v1", network="10.244.0.0/16",
                            api_host="10.0.0.10", api_port=6443)


def test_the_manifest_holds_upstreams_flannel_objects() -> None:
    objects = parse_flannel_addon(render_flannel_addon(VALUES).content)
    namespace, account, role, binding, config_map, daemon_set = objects
    assert namespace["metadata"]["name"] == "kube-flannel"
    assert (account["metadata"]["name"], account["metadata"]["namespace"]) == (
        "flannel", "kube-flannel")
    granted = {(resource, verb) for rule in role["rules"] for resource in rule["resources"]
               for verb in rule["verbs"]}
    assert granted == {("pods", "get"), ("nodes", "get"), ("nodes", "list"),
                       ("nodes", "watch"), ("nodes/status", "patch")}
    assert binding["roleRef"]["name"] == "flannel"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "flannel",
                                    "namespace": "kube-flannel"}]
    assert config_map["metadata"]["name"] == "kube-flannel-cfg"
    assert daemon_set["metadata"]["name"] == "kube-flannel-ds"
    pod = daemon_set["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    assert pod["priorityClassName"] == "system-node-critical"
    assert pod["tolerations"] == [{"operator": "Exists", "effect": "NoSchedule"}]
    assert pod["serviceAccountName"] == "flannel"
    container = pod["containers"][0]
    assert container["command"] == ["kubeadmpy-flanneld", "--ip-masq", "--kube-subnet-mgr"]
    assert container["securityContext"] == {"privileged": True}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"run": "/run/flannel", "flannel-cfg": "/etc/kube-flannel/"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["run"]["hostPath"]["path"] == "/run/flannel"
    assert volumes["flannel-cfg"]["configMap"]["name"] == "kube-flannel-cfg"
    for obj in objects:
        kubernetes_validate.validate(obj, "1.33", strict=True)


def test_flanneld_talks_to_the_control_plane_endpoint_and_knows_its_node() -> None:
    daemon_set = parse_flannel_addon(render_flannel_addon(VALUES).content)[-1]
    env = daemon_set["spec"]["template"]["spec"]["containers"][0]["env"]
    literal = {e["name"]: e["value"] for e in env if "value" in e}
    assert literal == {"KUBERNETES_SERVICE_HOST": "10.0.0.10", "KUBERNETES_SERVICE_PORT": "6443"}
    fields = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in env
              if "valueFrom" in e}
    assert fields == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace",
                      "NODE_NAME": "spec.nodeName"}
    command = daemon_set["spec"]["template"]["spec"]["containers"][0]["command"]
    settings = parse_settings(command[1:], {"NODE_NAME": "w1"})
    assert (settings.node_name, settings.ip_masq) == ("w1", True)


@pytest.mark.parametrize(("vni", "port", "mtu", "device_mtu"), [
    (1, 8472, None, None),
    (42, 4789, 1400, 1450),
], ids=["flannel's defaults", "a chosen VNI, port and pod MTU"])
def test_net_conf_is_one_flanneld_accepts_with_the_configured_backend(
        vni: int, port: int, mtu: int | None, device_mtu: int | None) -> None:
    values = FlannelAddonValues(image="x", network="10.244.0.0/16", api_host="cp", api_port=6443,
                                vni=vni, port=port, mtu=mtu)
    config_map = parse_flannel_addon(render_flannel_addon(values).content)[4]
    conf = netconf.parse_net_conf(config_map["data"]["net-conf.json"])
    assert str(conf.network) == "10.244.0.0/16"
    assert (conf.backend.vni, conf.backend.port, conf.backend.mtu) == (vni, port, device_mtu)
    assert json.loads(config_map["data"]["cni-conf.json"]) == json.loads(render_cni_conflist())


def test_the_host_conflist_is_upstreams_cni_conf() -> None:
    assert json.loads(render_cni_conflist()) == {
        "name": "cbr0", "cniVersion": "0.3.1",
        "plugins": [{"type": "flannel",
                     "delegate": {"hairpinMode": True, "isDefaultGateway": True}},
                    {"type": "portmap", "capabilities": {"portMappings": True}}]}


@pytest.mark.parametrize("network", ["fd00:10:244::/56", "10.244.0.0/16,fd00:10:244::/56",
                                     "10.244.0.1/16"])
def test_a_pod_subnet_flannel_cannot_carry_names_the_field_and_the_fix(network: str) -> None:
    values = FlannelAddonValues(image="x", network=network, api_host="cp", api_port=6443)
    with pytest.raises(UserInputError) as raised:
        render_flannel_addon(values)
    assert "networking.podSubnet" in str(raised.value)
    assert "--pod-network-cidr 10.244.0.0/16" in str(raised.value)
