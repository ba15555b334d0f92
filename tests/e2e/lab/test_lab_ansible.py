"""The lab's inventory works with the real Ansible (ansible-core): it parses and reaches machines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kubeadmpy import lab as labs

pytestmark = pytest.mark.skipif(shutil.which("ansible") is None, reason="ansible-core missing")


def ansible_env(tmp_path: Path) -> dict[str, str]:
    # Own ansible home, and no ControlPersist ssh masters left running after the test.
    return {**os.environ, "ANSIBLE_HOME": str(tmp_path / "ansible"), "ANSIBLE_SSH_ARGS": "",
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_DEPRECATION_WARNINGS": "0"}


@pytest.fixture
def inventory_file(lab: labs.Lab, tmp_path: Path) -> Path:
    path = tmp_path / "hosts.yaml"
    path.write_text(lab.inventory())
    return path


def test_the_inventory_parses_into_kubespray_groups(inventory_file: Path, tmp_path: Path) -> None:
    listed = subprocess.run(["ansible-inventory", "-i", str(inventory_file), "--list"],
                            capture_output=True, text=True, check=True, env=ansible_env(tmp_path))
    data = json.loads(listed.stdout)
    assert data["kube_control_plane"]["hosts"] == ["cp1"]
    assert data["etcd"]["hosts"] == ["cp1"]
    assert data["kube_node"]["hosts"] == ["w1", "w2"]
    assert sorted(data["k8s_cluster"]["children"]) == ["kube_control_plane", "kube_node"]
    assert data["_meta"]["hostvars"]["w2"]["ansible_host"].startswith("10.213.")


def test_ansible_ping_reaches_every_machine_over_ssh(
        lab: labs.Lab, inventory_file: Path, tmp_path: Path) -> None:
    pinged = subprocess.run(["ansible", "-i", str(inventory_file), "all", "-m", "ping", "-o"],
                            capture_output=True, text=True, timeout=240, env=ansible_env(tmp_path))
    assert pinged.returncode == 0, pinged.stdout + pinged.stderr
    for machine in lab.machines:
        assert f'{machine.name} | SUCCESS => {{"changed": false,"ping": "pong"}}' in pinged.stdout


def test_ansible_commands_run_on_the_machine_they_name(
        lab: labs.Lab, inventory_file: Path, tmp_path: Path) -> None:
    ran = subprocess.run(["ansible", "-i", str(inventory_file), "kube_node", "-m", "command",
                          "-a", "cat /etc/hostname", "-o"],
                         capture_output=True, text=True, timeout=240, env=ansible_env(tmp_path))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "w1 | CHANGED | rc=0 | (stdout) w1" in ran.stdout
    assert "w2 | CHANGED | rc=0 | (stdout) w2" in ran.stdout
    assert "cp1" not in ran.stdout


SAMPLES = Path(__file__).parents[3] / "inventory"


@pytest.mark.parametrize("sample", ["lab", "servers"], ids=lambda s: f"the {s} sample")
def test_sample_inventories_parse_with_the_same_groups(sample: str, tmp_path: Path) -> None:
    listed = subprocess.run(["ansible-inventory", "-i", str(SAMPLES / sample / "hosts.yaml"),
                             "--list"], capture_output=True, text=True, check=True,
                            env=ansible_env(tmp_path))
    data = json.loads(listed.stdout)
    assert data["kube_control_plane"]["hosts"] == ["cp1"]
    assert data["kube_node"]["hosts"] == ["w1", "w2"]
    assert sorted(data["k8s_cluster"]["children"]) == ["kube_control_plane", "kube_node"]
