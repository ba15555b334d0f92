"""A lab machine behaves like its own computer: own hostname, address, files; host untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubeadmpy import lab as labs


def host_tree(path: Path) -> list[str] | None:
    """What the host has at `path` (None when it does not exist)."""
    if not path.exists():
        return None
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_each_machine_has_its_own_hostname_and_lab_address(lab: labs.Lab) -> None:
    for machine in lab.machines:
        with lab.host(machine) as host:
            assert host.run("hostname", check=True).stdout.strip() == machine.name
            addresses = host.run("ip -4 -o addr show", check=True).stdout
        assert f"inet {machine.ip}/24" in addresses
        assert "eth0" in addresses
        other_ips = {m.ip for m in lab.machines} - {machine.ip}
        assert not any(f"inet {ip}/" in addresses for ip in other_ips)


def test_files_written_to_etc_kubernetes_stay_on_their_machine(lab: labs.Lab) -> None:
    host_view_before = host_tree(Path("/etc/kubernetes"))
    for machine in lab.machines:
        with lab.host(machine) as host:
            host.put(f"written on {machine.name}\n", f"/etc/kubernetes/{machine.name}.txt", 0o600)
    for machine in lab.machines:
        with lab.host(machine) as host:
            listing = host.run("ls /etc/kubernetes", check=True).stdout.split()
            mode = host.run(f"stat -c %a /etc/kubernetes/{machine.name}.txt", check=True).stdout
            content = host.get(f"/etc/kubernetes/{machine.name}.txt")
        assert f"{machine.name}.txt" in listing
        assert not [n for n in listing if n.endswith(".txt") and n != f"{machine.name}.txt"]
        assert mode.strip() == "600"
        assert content == f"written on {machine.name}\n".encode()
    assert host_tree(Path("/etc/kubernetes")) == host_view_before
    assert not any(Path("/etc/kubernetes").glob("*.txt"))


@pytest.mark.parametrize("directory", ["/var/lib/kubelet", "/var/lib/etcd", "/var/lib/containerd",
                                       "/etc/cni", "/var/log", "/run"])
def test_private_directories_are_not_shared_between_machines(lab: labs.Lab, directory: str) -> None:
    first, second = lab.machines[0], lab.machines[1]
    marker = f"{directory}/only-on-{first.name}"
    with lab.host(first) as host:
        host.put("x", marker)
    with lab.host(second) as host:
        assert host.run(f"test -e {marker}").exit_code == 1
    assert not Path(marker).exists()
    with lab.host(first) as host:
        host.run(["rm", marker], check=True)


def test_machine_knows_its_lab_identity_and_cgroup_parent(lab: labs.Lab) -> None:
    parents = set()
    for machine in lab.machines:
        with lab.host(machine) as host:
            identity = json.loads(host.get("/etc/kubeadmpy/lab-machine.json"))
            cgroups = host.run("cat /proc/self/cgroup", check=True).stdout
        assert identity["machine"] == machine.name and identity["ip"] == machine.ip
        assert f"pids:{machine.cgroup_parent}" in cgroups
        parents.add(identity["cgroupParent"])
    assert len(parents) == len(lab.machines)


def test_machine_sees_its_own_interfaces_and_the_cgroup_tree(lab: labs.Lab) -> None:
    with lab.host(lab.machines[0]) as host:
        interfaces = host.run("ls /sys/class/net", check=True).stdout.split()
        cgroup_mounts = host.run("ls /sys/fs/cgroup", check=True).stdout.split()
    assert sorted(interfaces) == ["eth0", "lo"]
    assert "pids" in cgroup_mounts


def test_status_reports_every_machine_ready(lab: labs.Lab) -> None:
    states = labs.load(lab.name, Path(lab.directory).parent).status()
    assert [(s.machine.name, s.running, s.reachable) for s in states] == [
        (m.name, True, True) for m in lab.machines]


def test_a_machine_cannot_see_the_state_of_the_other_machines(lab: labs.Lab) -> None:
    machines_dir = Path(lab.directory) / "machines"
    for machine in lab.machines:
        with lab.host(machine) as host:
            visible = host.run(["ls", str(machines_dir)], check=True).stdout.split()
        assert visible == [machine.name]
    assert sorted(p.name for p in machines_dir.iterdir()) == sorted(m.name for m in lab.machines)


def test_machines_reach_each_other_over_ssh_with_the_lab_key(lab: labs.Lab) -> None:
    with lab.host("cp1") as host:
        hop = host.run(["ssh", "-o", "BatchMode=yes", "-i", lab.manifest.private_key,
                        "-o", f"UserKnownHostsFile={lab.manifest.known_hosts}", "w2", "hostname"],
                       timeout=30)
    assert (hop.exit_code, hop.stdout) == (0, "w2\n"), hop.stderr
