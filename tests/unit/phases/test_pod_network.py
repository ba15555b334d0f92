"""The host half of flannel that init and join install on a node, the kube-flannel objects init
builds, and what reset does with the files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from kubeadmpy.config import InitFlags, load_init_config
from kubeadmpy.errors import UserInputError
from kubeadmpy.network import cni_install
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases import pod_network
from kubeadmpy.phases.init import InitContext
from kubeadmpy.phases.pod_network import (
    FLANNEL_CONFLIST,
    FLANNEL_LAUNCHER,
    LEGACY_BRIDGE_CONFLIST,
    NodeNetwork,
    flannel_values,
    foreign_cni_configs,
    install_node_cni,
)
from kubeadmpy.phases.reset import ResetContext, reset_workflow
from kubeadmpy.render.addons_flannel import render_cni_conflist


def install(root: Path, pod_subnet: str = "10.244.0.0/16") -> tuple[bool, list[str]]:
    lines: list[str] = []
    done = install_node_cni(NodeNetwork(HostPaths(root), pod_subnet, lines.append))
    return done, lines


def test_a_node_gets_the_flannel_launcher_and_upstreams_conflist(tmp_path: Path) -> None:
    done, lines = install(tmp_path)
    assert done
    conflist = json.loads(HostPaths(tmp_path).host(FLANNEL_CONFLIST).read_text())
    assert conflist["name"] == "cbr0"
    assert [p["type"] for p in conflist["plugins"]] == ["flannel", "portmap"]
    assert conflist["plugins"][0]["delegate"] == {"hairpinMode": True, "isDefaultGateway": True}
    launcher = HostPaths(tmp_path).host(FLANNEL_LAUNCHER)
    assert launcher.stat().st_mode & 0o777 == 0o755
    assert cni_install.is_ours(launcher)
    assert sys.executable in launcher.read_text()
    assert any(str(FLANNEL_CONFLIST) in line for line in lines)
    assert any(str(FLANNEL_LAUNCHER) in line for line in lines)


def test_installing_again_is_the_same_and_replaces_the_old_bridge_config(tmp_path: Path) -> None:
    legacy = HostPaths(tmp_path).host(LEGACY_BRIDGE_CONFLIST)
    legacy.parent.mkdir(parents=True)
    legacy.write_text("{}")
    assert install(tmp_path)[0]
    first = HostPaths(tmp_path).host(FLANNEL_CONFLIST).read_text()
    assert install(tmp_path)[0]
    assert HostPaths(tmp_path).host(FLANNEL_CONFLIST).read_text() == first
    assert not legacy.exists()


def test_a_cni_config_kubeadmpy_did_not_write_keeps_flannel_out(tmp_path: Path) -> None:
    conf_dir = HostPaths(tmp_path).host(pod_network.CNI_CONF_DIR)
    conf_dir.mkdir(parents=True)
    (conf_dir / "10-calico.conflist").write_text("{}")
    done, lines = install(tmp_path)
    assert not done
    assert not (conf_dir / FLANNEL_CONFLIST.name).exists()
    assert not HostPaths(tmp_path).host(FLANNEL_LAUNCHER).exists()
    assert any("10-calico.conflist" in line and "leaving the pod network" in line
               for line in lines)


def test_without_a_pod_network_cidr_nothing_is_installed(tmp_path: Path) -> None:
    done, lines = install(tmp_path, pod_subnet="")
    assert not done
    assert not HostPaths(tmp_path).host(FLANNEL_CONFLIST).exists()
    assert any("--pod-network-cidr" in line for line in lines)


def test_an_ipv6_pod_network_is_refused_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"networking\.podSubnet"):
        install(tmp_path, pod_subnet="fd00:10:244::/56")
    assert not HostPaths(tmp_path).host(FLANNEL_CONFLIST).exists()


def test_only_configs_kubeadmpy_did_not_write_count_as_foreign(tmp_path: Path) -> None:
    (tmp_path / FLANNEL_CONFLIST.name).write_text(render_cni_conflist())
    (tmp_path / LEGACY_BRIDGE_CONFLIST.name).write_text("{}")
    (tmp_path / "README").write_text("not a config")
    assert foreign_cni_configs(tmp_path) == []
    # A 10-flannel.conflist with other content is someone else's choice of network.
    (tmp_path / FLANNEL_CONFLIST.name).write_text('{"name": "mine", "plugins": []}')
    assert foreign_cni_configs(tmp_path) == ["10-flannel.conflist"]
    assert foreign_cni_configs(tmp_path / "missing") == []


def test_the_flannel_objects_take_the_pod_network_and_backend_from_the_configuration(
        tmp_path: Path) -> None:
    bundle = load_init_config(None, InitFlags(pod_network_cidr="10.244.0.0/16",
                                              apiserver_advertise_address="10.0.0.10"))
    bundle.kubeadmpy.network.flannel.vni = 7
    bundle.kubeadmpy.network.flannel.mtu = 1400
    values = flannel_values(InitContext(bundle=bundle, paths=HostPaths(tmp_path)), "img:1")
    assert (values.network, values.vni, values.port, values.mtu) == (
        "10.244.0.0/16", 7, 8472, 1400)
    assert (values.api_host, values.api_port) == ("10.0.0.10", 6443)


def test_reset_removes_the_flannel_files_kubeadmpy_wrote_and_says_so(tmp_path: Path) -> None:
    assert install(tmp_path)[0]
    legacy = HostPaths(tmp_path).host(LEGACY_BRIDGE_CONFLIST)
    legacy.write_text("{}")
    lines: list[str] = []
    reset_workflow().run(ResetContext(paths=HostPaths(tmp_path), force=True, out=lines.append))
    for logical in (FLANNEL_CONFLIST, FLANNEL_LAUNCHER, LEGACY_BRIDGE_CONFLIST):
        assert not HostPaths(tmp_path).host(logical).exists(), logical
        assert any(str(logical) in line and "Deleted" in line for line in lines), logical
    assert not any("does not clean CNI configuration" in line for line in lines)


def test_reset_keeps_a_foreign_cni_config_and_plugin_and_names_the_config(
        tmp_path: Path) -> None:
    conf_dir = HostPaths(tmp_path).host(pod_network.CNI_CONF_DIR)
    conf_dir.mkdir(parents=True)
    (conf_dir / "10-calico.conflist").write_text("{}")
    plugin = HostPaths(tmp_path).host(FLANNEL_LAUNCHER)
    plugin.parent.mkdir(parents=True)
    plugin.write_bytes(b"\x7fELF upstream flannel binary")
    lines: list[str] = []
    reset_workflow().run(ResetContext(paths=HostPaths(tmp_path), force=True, out=lines.append))
    assert (conf_dir / "10-calico.conflist").exists()
    assert plugin.exists()
    assert any("/etc/cni/net.d/10-calico.conflist" in line for line in lines)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}, "10.244.1.0/24"),
        ({"podCIDRs": ["10.244.2.0/24"]}, "10.244.2.0/24"),
        ({}, None),
    ],
    ids=["podCIDR set", "only podCIDRs set", "not assigned yet"],
)
def test_init_reads_the_node_pod_cidr_from_the_node_spec(
    spec: dict[str, object], expected: str | None
) -> None:
    assert pod_network.node_pod_cidr({"spec": spec}) == expected
