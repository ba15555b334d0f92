"""playbooks/cluster.yml makes a real two-machine cluster in the lab, converges to changed=0,
passes the molecule scenario's testinfra checks, and reset.yml takes it down again.

One scenario in the order a user meets it, on a private lab (cp1 + w1) reached over SSH with the
inventory `kubeadmpy lab inventory` prints.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ansible_run import NEEDS_ANSIBLE, run_playbook, run_testinfra

from kubeadmpy import lab as labs

SET_UP_FILES = ("/etc/kubernetes/admin.conf", "/etc/kubernetes/kubeadmpy-config.yaml",
                "/etc/kubernetes/kubelet.conf")  # sorted

pytestmark = NEEDS_ANSIBLE


def existing(lab: labs.Lab, machine: str, paths: tuple[str, ...]) -> list[str]:
    listed = lab.host(machine).run("ls -d " + " ".join(paths) + " 2>/dev/null", timeout=60)
    return sorted(listed.stdout.split())


def ready_nodes(lab: labs.Lab) -> list[str]:
    listed = lab.host("cp1").run(
        "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o jsonpath="
        "'{range .items[*]}{.metadata.name} {.status.conditions[?(@.type==\"Ready\")].status}"
        "{\"\\n\"}{end}'", check=True, timeout=60)
    return sorted(line.split()[0] for line in listed.stdout.splitlines()
                  if line.split()[1:] == ["True"])


def test_cluster_playbook_builds_converges_verifies_and_resets(
        ansible_lab: labs.Lab, ansible_env: dict[str, str], tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text(ansible_lab.inventory())

    # Every problem of a machine is named in one message, before anything changes.
    lacking = run_playbook("cluster.yml", inventory, ansible_env, "-e",
                           '{"preflight_cni_plugins": ["bridge", "no-such-plugin"],'
                           ' "preflight_supported_distributions": ["Fedora"]}')
    assert lacking.returncode != 0
    for host in ("cp1", "w1"):
        assert (f"Host {host}: It runs Debian 12") in lacking.output
    assert "(Linux); supported: Fedora on Linux. It lacks CNI plugin no-such-plugin. Install " \
        "them" in lacking.output
    assert all(counts["changed"] == 0 for counts in lacking.recap().values())
    assert existing(ansible_lab, "cp1", SET_UP_FILES) == []

    fetch = ("-e", "kubeconfig_localhost=true", "-e", f"artifacts_dir={tmp_path / 'artifacts'}")
    first = run_playbook("cluster.yml", inventory, ansible_env, *fetch)
    assert first.returncode == 0, first.output
    assert first.recap()["cp1"]["changed"] > 0 and first.recap()["w1"]["changed"] > 0
    assert ready_nodes(ansible_lab) == ["cp1", "w1"]
    rendered = ansible_lab.host("cp1").run("cat /etc/kubernetes/kubeadmpy-config.yaml",
                                           check=True, timeout=60).stdout
    assert "podSubnet: 10.233.64.0/18" in rendered  # kubespray's default names and values
    assert "serviceSubnet: 10.233.0.0/18" in rendered

    # The fetched admin.conf works from the Ansible machine (the lab is reachable from here).
    from_here = subprocess.run(["kubectl", "--kubeconfig", str(tmp_path / "artifacts" / "admin.conf"),
                                "get", "nodes", "-o", "name"], capture_output=True, text=True,
                               timeout=60)
    assert from_here.stdout.split() == ["node/cp1", "node/w1"], from_here.stderr

    second = run_playbook("cluster.yml", inventory, ansible_env, *fetch)
    assert second.returncode == 0, second.output
    assert {host: counts["changed"] for host, counts in second.recap().items()} == \
        {"cp1": 0, "w1": 0}, second.output

    checked = run_testinfra(inventory, ansible_env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert " passed" in checked.stdout and "failed" not in checked.stdout

    unconfirmed = run_playbook("reset.yml", inventory, ansible_env)
    assert unconfirmed.returncode != 0
    assert "Run it with -e reset_confirmation=yes to go ahead." in unconfirmed.output
    assert existing(ansible_lab, "cp1", SET_UP_FILES) == list(SET_UP_FILES)

    reset = run_playbook("reset.yml", inventory, ansible_env, "-e", "reset_confirmation=yes")
    assert reset.returncode == 0, reset.output
    assert existing(ansible_lab, "cp1", SET_UP_FILES) == []
    assert existing(ansible_lab, "w1", SET_UP_FILES) == []
