"""The Ansible inventory of a lab, in kubespray's group layout, ready for playbooks/.

Groups: ``kube_control_plane`` and ``etcd`` hold the control-plane machines, ``kube_node`` the
workers (or the control planes when there are none), ``k8s_cluster`` both. Connection variables
pin the lab's host keys and key, so ``ansible -m ping`` works without touching ~/.ssh.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

from kubeadmpy.lab.manifest import LabManifest, Role


def inventory_data(manifest: LabManifest) -> dict[str, Any]:
    control_planes = [m.name for m in manifest.machines if m.role is Role.CONTROL_PLANE]
    workers = [m.name for m in manifest.machines if m.role is Role.WORKER]
    ssh_args = " ".join(shlex.quote(a) for a in (
        "-o", f"UserKnownHostsFile={manifest.known_hosts}", "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes"))
    interpreter = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else "auto"
    return {"all": {
        "vars": {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": manifest.private_key,
            "ansible_ssh_common_args": ssh_args,
            "ansible_python_interpreter": interpreter,
            "kubeadmpy_lab": manifest.name,
        },
        "hosts": {m.name: {"ansible_host": m.ip, "ansible_port": m.ssh_port, "ip": m.ip,
                           "access_ip": m.ip, "kubeadmpy_role": str(m.role),
                           "kubeadmpy_cgroup_parent": m.cgroup_parent}
                  for m in manifest.machines},
        "children": {
            "kube_control_plane": {"hosts": {name: None for name in control_planes}},
            "etcd": {"hosts": {name: None for name in control_planes}},
            "kube_node": {"hosts": {name: None for name in (workers or control_planes)}},
            "k8s_cluster": {"children": {"kube_control_plane": None, "kube_node": None}},
        },
    }}


def render_inventory(manifest: LabManifest) -> str:
    header = f"# Ansible inventory of kubeadmpy lab {manifest.name!r} (generated; do not edit)\n"
    return header + yaml.safe_dump(inventory_data(manifest), sort_keys=False)
