"""Lab specs, manifests and inventories: the data every lab command shares."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest
import yaml

from kubeadmpy.errors import UserInputError
from kubeadmpy.lab import LabSpec, keys
from kubeadmpy.lab.errors import LabError
from kubeadmpy.lab.inventory import inventory_data, render_inventory
from kubeadmpy.lab.manifest import LabManifest, LabPhase, Machine, Role


def manifest_for(tmp_path: Path, control_planes: int, workers: int) -> LabManifest:
    spec = LabSpec(name="demo", control_planes=control_planes, workers=workers)
    machines = tuple(
        Machine(name=name, role=role, ip=f"10.213.1.{11 + i}", ssh_port=22,
                netns=f"kubeadmpy-lab.demo.{name}", veth=f"kplab1-{i + 1}",
                cgroup_parent=f"/kubeadmpy-lab/demo/{name}", host_public_key="ssh-ed25519 AAAA x",
                directory=str(tmp_path / "machines" / name))
        for i, (name, role) in enumerate(spec.machine_roles()))
    return LabManifest(name="demo", index=1, subnet="10.213.1.0/24", gateway="10.213.1.1",
                       bridge="kplab1", directory=str(tmp_path), private_key="/k/id",
                       public_key="ssh-ed25519 AAAA lab", known_hosts="/k/known_hosts",
                       phase=LabPhase.READY, machines=machines)


def test_machines_are_named_by_role_control_planes_first() -> None:
    roles = LabSpec(control_planes=2, workers=3).machine_roles()
    assert roles == [("cp1", Role.CONTROL_PLANE), ("cp2", Role.CONTROL_PLANE),
                     ("w1", Role.WORKER), ("w2", Role.WORKER), ("w3", Role.WORKER)]


@pytest.mark.parametrize("spec,field", [
    (LabSpec(control_planes=0), "--control-planes"),
    (LabSpec(workers=-2), "--workers"),
    (LabSpec(control_planes=150, workers=60), "--workers"),
    (LabSpec(name="No"), "--name"),
    (LabSpec(ready_timeout=0), "--timeout"),
], ids=["no control plane", "negative workers", "more machines than a /24 holds", "bad name",
        "no time to wait for sshd"])
def test_impossible_specs_are_user_errors_naming_the_option(spec: LabSpec, field: str) -> None:
    with pytest.raises(UserInputError) as caught:
        spec.validate()
    assert caught.value.field == field


def test_a_manifest_reads_back_exactly_as_written(tmp_path: Path) -> None:
    manifest = manifest_for(tmp_path, 1, 2)
    manifest.save()
    assert LabManifest.load(tmp_path / "manifest.json") == manifest
    assert (tmp_path / "manifest.json").stat().st_mode & 0o777 == 0o600


def test_a_damaged_manifest_is_an_error_that_says_how_to_clean_up(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"name": "demo"')
    with pytest.raises(LabError, match=f"kubeadmpy lab down --name {tmp_path.name}"):
        LabManifest.load(tmp_path / "manifest.json")


@pytest.mark.parametrize("control_planes,workers,nodes", [
    (1, 2, ["w1", "w2"]),
    (3, 0, ["cp1", "cp2", "cp3"]),
], ids=["workers are the nodes", "control planes are nodes when there are no workers"])
def test_the_inventory_has_kubespray_groups(
        tmp_path: Path, control_planes: int, workers: int, nodes: list[str]) -> None:
    data = inventory_data(manifest_for(tmp_path, control_planes, workers))["all"]
    planes = [f"cp{i}" for i in range(1, control_planes + 1)]
    assert list(data["children"]["kube_control_plane"]["hosts"]) == planes
    assert list(data["children"]["etcd"]["hosts"]) == planes
    assert list(data["children"]["kube_node"]["hosts"]) == nodes
    assert list(data["children"]["k8s_cluster"]["children"]) == ["kube_control_plane", "kube_node"]
    assert data["hosts"]["cp1"]["ansible_host"] == "10.213.1.11"
    assert "StrictHostKeyChecking=yes" in data["vars"]["ansible_ssh_common_args"]


def test_the_rendered_inventory_is_yaml_with_a_header(tmp_path: Path) -> None:
    text = render_inventory(manifest_for(tmp_path, 1, 1))
    assert text.startswith("# Ansible inventory of kubeadmpy lab 'demo'")
    assert yaml.safe_load(text) == inventory_data(manifest_for(tmp_path, 1, 1))


def test_generated_keys_load_in_paramiko_and_pin_as_known_hosts_lines(tmp_path: Path) -> None:
    pair = keys.new_key_pair("root@cp1")
    pair.write(tmp_path / "id_ed25519")
    loaded = paramiko.PKey.from_path(tmp_path / "id_ed25519")
    assert pair.public_line.split()[:2] == ["ssh-ed25519", loaded.get_base64()]
    assert (tmp_path / "id_ed25519").stat().st_mode & 0o777 == 0o600
    assert keys.known_hosts_line(["cp1", "10.213.1.11"], pair.public_line) == (
        f"cp1,10.213.1.11 ssh-ed25519 {loaded.get_base64()}")
