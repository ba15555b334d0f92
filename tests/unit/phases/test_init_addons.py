"""init's add-on steps as a dry run shows them: kube-proxy's and flannel's objects, the upstream
flavor skipping them, and a user's kube-proxy mode kubeadmpy-proxy cannot run refused."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kubeadmpy.config import InitFlags, load_init_config
from kubeadmpy.errors import UserInputError
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases import addons, pod_network
from kubeadmpy.phases.init import InitContext

FLAGS = InitFlags(pod_network_cidr="10.244.0.0/16", apiserver_advertise_address="10.0.0.10")


def dry_context(root: Path, text: str | None = None) -> tuple[InitContext, list[str]]:
    lines: list[str] = []
    bundle = load_init_config(None, InitFlags() if text else FLAGS, text=text)
    return InitContext(bundle=bundle, paths=HostPaths(root), dry_run=True,
                       out=lines.append), lines


def test_the_kube_proxy_step_names_kubeadms_objects(tmp_path: Path) -> None:
    ctx, lines = dry_context(tmp_path)
    addons.install_kube_proxy(ctx)
    assert lines[0].startswith("[dryrun] [addons] Would create or update the kube-proxy objects")
    assert [line.split("   ")[-1] for line in lines[1:]] == [
        "ServiceAccount kube-system/kube-proxy", "ClusterRoleBinding kubeadm:node-proxier",
        "ConfigMap kube-system/kube-proxy", "DaemonSet kube-system/kube-proxy"]


def test_the_pod_network_step_installs_the_host_half_and_names_flannels_objects(
        tmp_path: Path) -> None:
    ctx, lines = dry_context(tmp_path)
    pod_network.write_pod_network(ctx)
    assert HostPaths(tmp_path).host(pod_network.FLANNEL_CONFLIST).exists()
    assert HostPaths(tmp_path).host(pod_network.FLANNEL_LAUNCHER).exists()
    assert "[dryrun] [pod-network]   DaemonSet kube-flannel/kube-flannel-ds" in lines
    assert "[dryrun] [pod-network]   Namespace kube-flannel" in lines


def test_the_upstream_flavor_skips_the_add_ons_and_says_why(tmp_path: Path) -> None:
    ctx, lines = dry_context(tmp_path)
    ctx.bundle.kubeadmpy.control_plane_flavor = "upstream"
    addons.install_kube_proxy(ctx)
    pod_network.write_pod_network(ctx)
    assert len(lines) == 2
    assert lines[0].startswith("[addons] Skipping kube-proxy: kubeadmpy's kube-proxy runs from "
                               "the python flavor's control-plane image")
    assert lines[1].startswith("[pod-network] Skipping flannel: ")
    assert not HostPaths(tmp_path).host(pod_network.FLANNEL_CONFLIST).exists()


def test_a_kube_proxy_mode_kubeadmpy_proxy_cannot_run_is_refused_naming_the_field(
        tmp_path: Path) -> None:
    ctx, lines = dry_context(tmp_path, textwrap.dedent("""\
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: InitConfiguration
        localAPIEndpoint:
          advertiseAddress: 10.0.0.10
        ---
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: ClusterConfiguration
        networking:
          podSubnet: 10.244.0.0/16
        ---
        apiVersion: kubeproxy.config.k8s.io/v1alpha1
        kind: KubeProxyConfiguration
        mode: ipvs
        """))
    with pytest.raises(UserInputError) as raised:
        addons.install_kube_proxy(ctx)
    assert "KubeProxyConfiguration.mode" in str(raised.value)
    assert "'ipvs' is not supported" in str(raised.value)
    assert lines == []


def test_the_dns_step_names_kubeadms_objects_and_points_the_server_at_the_api(
        tmp_path: Path) -> None:
    ctx, lines = dry_context(tmp_path)
    addons.install_coredns(ctx)
    assert "[dryrun] [addons]   Deployment kube-system/coredns" in lines
    assert "[dryrun] [addons]   Service kube-system/kube-dns" in lines
    objects = {obj["kind"]: obj for obj in addons.dns_objects(ctx, "img:1")}
    assert objects["Service"]["spec"]["clusterIP"] == "10.96.0.10"
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["kubeadmpy-dns"]
    assert {e["name"]: e["value"] for e in container["env"]} == {
        "KUBERNETES_SERVICE_HOST": "10.0.0.10", "KUBERNETES_SERVICE_PORT": "6443"}
