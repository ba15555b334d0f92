"""The kube-proxy addon renders to kubeadm's objects with kubeadmpy-proxy as the command; the
ConfigMap's files are ones the proxy itself loads; a user's KubeProxyConfiguration is merged."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from kubeadmpy.client.config import load_kubeconfig
from kubeadmpy.config import v1beta4
from kubeadmpy.config.components import KUBE_PROXY_KUBECONFIG, kube_proxy_configuration
from kubeadmpy.errors import UserInputError
from kubeadmpy.proxy.config import parse_settings
from kubeadmpy.render.addons_proxy import (
    ProxyAddonValues,
    parse_proxy_addon,
    proxy_configuration,
    render_proxy_addon,
)
from kubeadmpy.render.environment import RenderError

SERVER = "https://10.0.0.10:6443"


def values(**user: object) -> ProxyAddonValues:
    cluster = v1beta4.ClusterConfiguration()
    cluster.networking.pod_subnet = "10.244.0.0/16"
    cluster.networking.service_subnet = "10.96.0.0/12"
    return ProxyAddonValues(image="kubeadmpy.local/control-plane:v1", server=SERVER,
                            base_config=kube_proxy_configuration(cluster),
                            user_config=dict(user) or None)


def test_the_manifest_holds_kubeadms_kube_proxy_objects() -> None:
    account, binding, config_map, daemon_set = parse_proxy_addon(
        render_proxy_addon(values()).content)
    assert (account["metadata"]["name"], account["metadata"]["namespace"]) == (
        "kube-proxy", "kube-system")
    assert binding["metadata"]["name"] == "kubeadm:node-proxier"
    assert binding["roleRef"]["name"] == "system:node-proxier"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kube-proxy",
                                    "namespace": "kube-system"}]
    assert config_map["metadata"]["name"] == "kube-proxy"
    pod = daemon_set["spec"]["template"]["spec"]
    assert daemon_set["metadata"]["name"] == "kube-proxy"
    assert pod["hostNetwork"] is True
    assert pod["priorityClassName"] == "system-node-critical"
    assert pod["tolerations"] == [{"operator": "Exists"}]
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["serviceAccountName"] == "kube-proxy"
    container = pod["containers"][0]
    assert container["command"] == ["kubeadmpy-proxy", "--config=/var/lib/kube-proxy/config.conf",
                                    "--hostname-override=$(NODE_NAME)"]
    assert container["securityContext"] == {"privileged": True}
    assert {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}} \
        in container["env"]
    for obj in (account, binding, config_map, daemon_set):
        kubernetes_validate.validate(obj, "1.33", strict=True)


def test_the_config_files_are_ones_kubeadmpy_proxy_loads(tmp_path: Path) -> None:
    config_map = parse_proxy_addon(render_proxy_addon(values()).content)[2]
    config = yaml.safe_load(config_map["data"]["config.conf"])
    assert config["clusterCIDR"] == "10.244.0.0/16"
    assert config["mode"] == "nftables"
    assert config["clientConnection"]["kubeconfig"] == KUBE_PROXY_KUBECONFIG
    (tmp_path / "config.conf").write_text(config_map["data"]["config.conf"])
    settings, cleanup = parse_settings([f"--config={tmp_path / 'config.conf'}",
                                        "--hostname-override=w1"])
    assert not cleanup
    assert settings.rules.node_name == "w1"
    assert str(settings.rules.cluster_cidr) == "10.244.0.0/16"

    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("abc")
    (account / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    kubeconfig = config_map["data"]["kubeconfig.conf"].replace(
        "/var/run/secrets/kubernetes.io/serviceaccount", str(account))
    (tmp_path / "kubeconfig.conf").write_text(kubeconfig)
    loaded = load_kubeconfig(tmp_path / "kubeconfig.conf")
    assert loaded.server == SERVER


def test_a_users_kube_proxy_configuration_is_merged_over_kubeadms() -> None:
    config = proxy_configuration(values(clientConnection={"qps": 20},
                                        nftables={"syncPeriod": "10s"}))
    assert config["clientConnection"] == {"kubeconfig": KUBE_PROXY_KUBECONFIG, "qps": 20}
    assert config["nftables"] == {"syncPeriod": "10s"}
    assert config["clusterCIDR"] == "10.244.0.0/16"


@pytest.mark.parametrize("mode", ["iptables", "ipvs"])
def test_a_mode_other_than_nftables_names_the_field_and_the_fix(mode: str) -> None:
    with pytest.raises(UserInputError) as raised:
        render_proxy_addon(values(mode=mode))
    text = str(raised.value)
    assert "KubeProxyConfiguration.mode" in text and repr(mode) in text
    assert "mode: nftables" in text


def test_a_kubeconfig_path_the_daemon_set_does_not_mount_is_a_render_error() -> None:
    with pytest.raises(RenderError, match=r"clientConnection\.kubeconfig"):
        render_proxy_addon(values(clientConnection={"kubeconfig": "/elsewhere.conf"}))
