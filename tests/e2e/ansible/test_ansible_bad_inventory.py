"""A bad inventory stops cluster.yml in its first play, before any machine is contacted.

The machines are documentation addresses (192.0.2.x) nobody answers on: had the playbook tried
to reach one, the run would end "unreachable" instead of with the message. So these need no lab.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_run import NEEDS_ANSIBLE, run_playbook

HOSTS = {"cp1": "192.0.2.11", "cp2": "192.0.2.12", "w1": "192.0.2.21"}

pytestmark = NEEDS_ANSIBLE


def inventory(control_planes: list[str], workers: list[str]) -> dict[str, object]:
    used = control_planes + workers
    return {"all": {
        "hosts": {h: {"ansible_host": HOSTS[h], "ip": HOSTS[h]} for h in used},
        "children": {
            "kube_control_plane": {"hosts": dict.fromkeys(control_planes)},
            "kube_node": {"hosts": dict.fromkeys(workers)},
            "k8s_cluster": {"children": {"kube_control_plane": None, "kube_node": None}}}}}


CASES = [
    pytest.param(inventory([], ["w1"]), [],
                 "Inventory group 'kube_control_plane' has no host: put the machine that runs "
                 "the API server in it", id="no control plane is named"),
    pytest.param(inventory(["cp1", "cp2"], ["w1"]), [],
                 "Inventory group 'kube_control_plane' has 2 hosts (cp1, cp2), but these "
                 "playbooks set up one control plane", id="two control planes are refused"),
    pytest.param(inventory(["cp1"], []), [],
                 "Inventory group 'kube_node' has no host", id="no node is named"),
    pytest.param(inventory(["cp1"], ["w1"]), ["-e", "kube_pods_subnet=10.233.64.1/18"],
                 "Variable 'kube_pods_subnet': '10.233.64.1/18' has host bits set; the network "
                 "is 10.233.64.0/18.", id="a pod subnet with host bits is refused"),
    pytest.param(inventory(["cp1"], ["w1"]), ["-e", "kube_service_addresses=10.233.64.0/24"],
                 "Variables 'kube_pods_subnet' (10.233.64.0/18) and 'kube_service_addresses' "
                 "(10.233.64.0/24) overlap", id="overlapping subnets are refused"),
    pytest.param(inventory(["cp1"], ["w1"]), ["-e", "kube_service_addresses=192.0.2.0/24"],
                 "Variable 'kube_service_addresses' (192.0.2.0/24) contains the address of "
                 "machine(s) 192.0.2.11, 192.0.2.21", id="a subnet holding the machines is refused"),
]


@pytest.mark.parametrize("hosts, extra, message", CASES)
def test_a_bad_inventory_fails_in_preflight_naming_the_fix(
        hosts: dict[str, object], extra: list[str], message: str, tmp_path: Path,
        ansible_env: dict[str, str]) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text(yaml.safe_dump(hosts))
    run = run_playbook("cluster.yml", path, ansible_env, *extra, timeout=120)
    assert run.returncode != 0
    assert " ".join(message.split()) in " ".join(run.output.split()), run.output
    assert "TASK [Gathering Facts]" not in run.output  # no machine was contacted
    assert "UNREACHABLE" not in run.output and "Traceback" not in run.output
    assert all(counts["changed"] == 0 for counts in run.recap().values())
