"""The Vagrant lab's inventory parses into kubespray's groups and matches the Vagrantfile.

Vagrant itself cannot run here (no VirtualBox or libvirt), so this is what is checked: Ansible
reads the inventory, and every machine the Vagrantfile defines has the same name and address
in it (the two files are edited by hand and must agree).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
VAGRANTFILE = REPO / "vagrant" / "Vagrantfile"
INVENTORY = REPO / "inventory" / "vagrant" / "hosts.yaml"
MACHINE = re.compile(r'\{ name: "(?P<name>[\w-]+)", ip: "(?P<ip>[\d.]+)"')

pytestmark = pytest.mark.skipif(shutil.which("ansible-inventory") is None,
                                reason="ansible-core missing")


def test_the_vagrant_inventory_parses_and_matches_the_vagrantfile(tmp_path: Path) -> None:
    listed = subprocess.run(["ansible-inventory", "-i", str(INVENTORY), "--list"],
                            capture_output=True, text=True, check=True, timeout=60,
                            env={**os.environ, "ANSIBLE_HOME": str(tmp_path)})
    data = json.loads(listed.stdout)
    assert data["kube_control_plane"]["hosts"] == ["cp1"]
    assert data["etcd"]["hosts"] == ["cp1"]
    assert data["kube_node"]["hosts"] == ["w1", "w2"]
    assert sorted(data["k8s_cluster"]["children"]) == ["kube_control_plane", "kube_node"]
    hostvars = data["_meta"]["hostvars"]
    in_inventory = {name: (v["ansible_host"], v["ip"]) for name, v in hostvars.items()}
    in_vagrantfile = {m["name"]: (m["ip"], m["ip"]) for m in MACHINE.finditer(
        VAGRANTFILE.read_text())}
    assert in_vagrantfile == in_inventory
    assert all(ip.startswith("192.168.56.") for ip, _ in in_inventory.values())  # VirtualBox
    assert all(v["ansible_become"] is True for v in hostvars.values())  # preflight wants root
