"""testinfra checks of a cluster made by playbooks/cluster.yml, run on every inventory host.

Molecule runs them as its verifier; tests/e2e/ansible runs them against its own lab with
`pytest --hosts=ansible://all --ansible-inventory=INVENTORY`. Every check reads the machine as
a user would over SSH: processes and sockets, file modes, and kubectl on the control plane.
Lab machines share the host's PID namespace, so a daemon is found by its pid file (which lives
in the machine's own /run), not by process name.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

ADMIN_CONF = "/etc/kubernetes/admin.conf"
CONTROL_PLANE_CONFS = ("admin.conf", "super-admin.conf", "controller-manager.conf",
                       "scheduler.conf", "kubelet.conf")


def groups_of(host: Any) -> list[str]:
    variables = host.ansible.get_variables()
    name = variables["inventory_hostname"]
    return [group for group, members in variables["groups"].items() if name in members]


def is_first_control_plane(host: Any) -> bool:
    variables = host.ansible.get_variables()
    return bool(variables["groups"]["kube_control_plane"][:1] == [variables["inventory_hostname"]])


def kubectl_json(host: Any, *args: str) -> Any:
    command = "kubectl --kubeconfig %s get" + " %s" * len(args) + " -o json"
    return json.loads(host.check_output(command, ADMIN_CONF, *args))


def daemon_command_line(host: Any, name: str) -> str:
    pid = host.file(f"/run/kubeadmpy/{name}.pid").content_string.strip()
    return str(host.file(f"/proc/{pid}/cmdline").content_string).replace("\0", " ")


@pytest.mark.parametrize(("daemon", "program"), [("containerd", "/usr/bin/containerd"),
                                             ("kubelet", "kubeadmpy-kubelet")],
                         ids=["containerd runs", "the kubelet runs"])
def test_the_node_daemons_run(host: Any, daemon: str, program: str) -> None:
    assert program in daemon_command_line(host, daemon)


def test_containerd_listens_on_its_cri_socket(host: Any) -> None:
    assert host.socket("unix:///run/containerd/containerd.sock").is_listening


def test_kubeconfig_files_are_readable_by_root_only(host: Any) -> None:
    names = CONTROL_PLANE_CONFS if "kube_control_plane" in groups_of(host) else ("kubelet.conf",)
    # One stat for all files: testinfra's File asks over SSH once per attribute.
    listed = host.run("cd /etc/kubernetes && stat -c '%%n %%F %%U %%G %%a'" + " %s" * len(names),
                      *names)
    assert listed.rc == 0, listed.stderr
    assert listed.stdout.splitlines() == [f"{name} regular file root root 600" for name in names]


def test_every_inventory_host_is_a_ready_node(host: Any) -> None:
    if not is_first_control_plane(host):
        pytest.skip("kubectl runs on the first control plane")
    expected = set(host.ansible.get_variables()["groups"]["k8s_cluster"])
    nodes = kubectl_json(host, "nodes")["items"]
    ready = {node["metadata"]["name"] for node in nodes
             if any(c["type"] == "Ready" and c["status"] == "True"
                    for c in node["status"].get("conditions", []))}
    assert ready == expected


def test_the_cluster_pods_run(host: Any) -> None:
    if not is_first_control_plane(host):
        pytest.skip("kubectl runs on the first control plane")
    pods = kubectl_json(host, "pods", "--all-namespaces")["items"]
    assert pods, "no pods in the cluster"
    not_running = [f"{p['metadata']['namespace']}/{p['metadata']['name']}: {p['status'].get('phase')}"
                   for p in pods if p["status"].get("phase") != "Running"]
    assert not_running == []
    names = {p["metadata"]["name"] for p in pods}
    control_plane = host.ansible.get_variables()["inventory_hostname"]
    assert {f"kube-apiserver-{control_plane}", f"etcd-{control_plane}"} <= names
