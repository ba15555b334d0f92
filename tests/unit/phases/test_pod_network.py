"""The single-node pod network init writes, and what reset does with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.pod_network import (
    BRIDGE_CONFLIST,
    bridge_conflist,
    foreign_cni_configs,
    node_pod_cidr,
)
from kubeadmpy.phases.reset import ResetContext, reset_workflow


@pytest.mark.parametrize(
    ("cidr", "default_route"),
    [("10.244.0.0/24", "0.0.0.0/0"), ("fd00:10:244::/64", "::/0")],
    ids=["an IPv4 podCIDR", "an IPv6 podCIDR"],
)
def test_the_conflist_is_a_gateway_bridge_with_host_local_ipam_on_the_pod_cidr(
    cidr: str, default_route: str
) -> None:
    config = json.loads(bridge_conflist(cidr))
    bridge = config["plugins"][0]
    assert [p["type"] for p in config["plugins"]] == ["bridge", "loopback"]
    assert bridge["isGateway"] is True
    assert bridge["ipMasq"] is False  # no iptables rules to clean up on reset
    assert bridge["ipam"]["ranges"] == [[{"subnet": cidr}]]
    assert bridge["ipam"]["routes"] == [{"dst": default_route}]


def test_a_malformed_pod_cidr_is_refused() -> None:
    with pytest.raises(ValueError):
        bridge_conflist("10.244.0.0/33")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}, "10.244.1.0/24"),
        ({"podCIDRs": ["10.244.2.0/24"]}, "10.244.2.0/24"),
        ({}, None),
    ],
    ids=["podCIDR set", "only podCIDRs set", "not assigned yet"],
)
def test_the_node_pod_cidr_is_read_from_the_node_spec(
    spec: dict[str, object], expected: str | None
) -> None:
    assert node_pod_cidr({"spec": spec}) == expected


def test_only_configs_kubeadmpy_did_not_write_count_as_foreign(tmp_path: Path) -> None:
    (tmp_path / BRIDGE_CONFLIST.name).write_text("{}")
    (tmp_path / "10-flannel.conflist").write_text("{}")
    (tmp_path / "README").write_text("not a config")
    assert foreign_cni_configs(tmp_path) == ["10-flannel.conflist"]
    assert foreign_cni_configs(tmp_path / "missing") == []


def test_reset_removes_the_pod_network_init_wrote_and_says_so(tmp_path: Path) -> None:
    conflist = HostPaths(tmp_path).host(BRIDGE_CONFLIST)
    conflist.parent.mkdir(parents=True)
    conflist.write_text(bridge_conflist("10.244.0.0/24"))
    lines: list[str] = []
    reset_workflow().run(ResetContext(paths=HostPaths(tmp_path), force=True, out=lines.append))
    assert not conflist.exists()
    assert any(str(BRIDGE_CONFLIST) in line and "Deleted" in line for line in lines)
    assert not any("does not clean CNI configuration" in line for line in lines)


def test_reset_keeps_a_foreign_cni_config_and_names_it(tmp_path: Path) -> None:
    conf_dir = tmp_path / "etc/cni/net.d"
    conf_dir.mkdir(parents=True)
    (conf_dir / "10-flannel.conflist").write_text("{}")
    (conf_dir / BRIDGE_CONFLIST.name).write_text("{}")
    lines: list[str] = []
    reset_workflow().run(ResetContext(paths=HostPaths(tmp_path), force=True, out=lines.append))
    assert (conf_dir / "10-flannel.conflist").exists()
    assert not (conf_dir / BRIDGE_CONFLIST.name).exists()
    assert any("/etc/cni/net.d/10-flannel.conflist" in line for line in lines)
