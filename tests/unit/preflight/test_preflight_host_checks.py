"""Checks that read /proc and /sys pass on a healthy fixture machine and fail for the right reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from preflight_machine import CGROUPS_V1, MOUNTS_UNIFIED, MachineTree

from kubeadmpy.phases.preflight import checks, sets
from kubeadmpy.phases.preflight.check import Check
from kubeadmpy.phases.preflight.system import KERNEL_CONFIG_REQUIRED, system_verification

Edit = Callable[[MachineTree], None]
MakeCheck = Callable[[MachineTree], Check]


def cpus(t: MachineTree) -> Check:
    return checks.num_cpu(t.sys)


def mem(t: MachineTree) -> Check:
    return checks.memory(t.proc)


def swap(t: MachineTree) -> Check:
    return checks.swap(t.proc)


def ip_forward(t: MachineTree) -> Check:
    return checks.proc_file_content(t.proc, sets.IPV4_FORWARD)


def bridge_nf(t: MachineTree) -> Check:
    return checks.proc_file_content(t.proc, sets.BRIDGE_NF_IPTABLES)


def system(t: MachineTree) -> Check:
    return system_verification(t.proc, t.sys)


def full_kernel_config(**overrides: str) -> dict[str, str]:
    options = {f"CONFIG_{aliases[0]}": "y" for aliases in KERNEL_CONFIG_REQUIRED}
    options.update({f"CONFIG_{k}": v for k, v in overrides.items()})
    return {k: v for k, v in options.items() if v}


@dataclass
class Case:
    id: str
    check: MakeCheck
    edits: list[Edit] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # substrings, one per expected error
    warnings: list[str] = field(default_factory=list)


V1_WARNING = "cgroups v1 support is in maintenance mode"

CASES = [
    Case("four online CPUs are enough", cpus),
    Case(
        "a CPU range list with gaps is counted",
        cpus,
        [lambda t: t.set("sys", "devices/system/cpu/online", "0,2-3\n")],
    ),
    Case(
        "one CPU is too few for a control plane",
        cpus,
        [lambda t: t.set("sys", "devices/system/cpu/online", "0\n")],
        errors=["the number of available CPUs 1 is less than the required 2"],
    ),
    Case("8 GB of RAM is enough", mem),
    Case(
        "1 GB of RAM is below the 1700 MB minimum",
        mem,
        [lambda t: t.set("proc", "meminfo", "MemTotal:        1000000 kB\n")],
        errors=["the system RAM (976 MB) is less than the minimum 1700 MB"],
    ),
    Case(
        "unreadable meminfo is an error",
        mem,
        [lambda t: t.remove("proc", "meminfo")],
        errors=["cannot read MemTotal"],
    ),
    Case("no swap devices means no warning", swap),
    Case(
        "a kernel without swap support (no /proc/swaps) is fine",
        swap,
        [lambda t: t.remove("proc", "swaps")],
    ),
    Case(
        "an active swap device warns and names the device",
        swap,
        [
            lambda t: t.set(
                "proc", "swaps", "Filename Type Size Used Priority\n/swapfile file 1048572 0 -2\n"
            )
        ],
        warnings=["swap is on (/swapfile)"],
    ),
    Case("ip_forward set to 1 passes", ip_forward),
    Case(
        "ip_forward set to 0 fails and says how to fix it",
        ip_forward,
        [lambda t: t.set("proc", "sys/net/ipv4/ip_forward", "0\n")],
        errors=[
            "/proc/sys/net/ipv4/ip_forward contents are not set to 1; "
            "set it with 'sysctl -w net.ipv4.ip_forward=1'"
        ],
    ),
    Case(
        "bridge-nf-call-iptables missing (br_netfilter not loaded) fails",
        bridge_nf,
        [lambda t: t.remove("proc", "sys/net/bridge")],
        errors=["/proc/sys/net/bridge/bridge-nf-call-iptables does not exist"],
    ),
    Case(
        "a hybrid cgroup machine only gets the v1 maintenance warning",
        system,
        warnings=[V1_WARNING],
    ),
    Case(
        "a unified cgroup v2 machine with all controllers passes cleanly",
        system,
        [lambda t: t.set("proc", "mounts", MOUNTS_UNIFIED)],
    ),
    Case(
        "cgroup v2 without the pids controller is an error",
        system,
        [
            lambda t: t.set("proc", "mounts", MOUNTS_UNIFIED),
            lambda t: t.set("sys", "fs/cgroup/cgroup.controllers", "cpuset cpu memory hugetlb\n"),
        ],
        errors=["missing required cgroups: pids"],
    ),
    Case(
        "cgroup v2 on a kernel older than 5.2 has no freezer",
        system,
        [
            lambda t: t.set("proc", "mounts", MOUNTS_UNIFIED),
            lambda t: t.set("proc", "sys/kernel/osrelease", "4.19.0-1\n"),
        ],
        errors=["missing required cgroups: freezer"],
    ),
    Case(
        "a disabled v1 memory controller is an error",
        system,
        [
            lambda t: t.set(
                "proc", "cgroups", CGROUPS_V1.replace("memory\t4\t31\t1", "memory\t4\t31\t0")
            )
        ],
        errors=["missing required cgroups: memory"],
        warnings=[V1_WARNING],
    ),
    Case(
        "a missing hugetlb controller is only a warning",
        system,
        [lambda t: t.set("proc", "cgroups", CGROUPS_V1.replace("hugetlb\t0\t1\t1\n", ""))],
        warnings=[V1_WARNING, "missing optional cgroups: hugetlb"],
    ),
    Case(
        "no cgroup mount and no /proc/cgroups is an error",
        system,
        [
            lambda t: t.set("proc", "mounts", "proc /proc proc rw 0 0\n"),
            lambda t: t.remove("proc", "cgroups"),
        ],
        errors=["no cgroup filesystem is mounted at /sys/fs/cgroup"],
    ),
    Case(
        "kernel 2.6 is unsupported",
        system,
        [lambda t: t.set("proc", "sys/kernel/osrelease", "2.6.32-754.el6\n")],
        errors=["unsupported kernel release: 2.6.32-754.el6"],
        warnings=[V1_WARNING],
    ),
    Case(
        "kernel 3.10 is the oldest supported",
        system,
        [lambda t: t.set("proc", "sys/kernel/osrelease", "3.10.0-1160.el7\n")],
        warnings=[V1_WARNING],
    ),
    Case(
        "no vxlan module warns that flannel needs it",
        system,
        [lambda t: t.remove("sys", "module/vxlan")],
        warnings=[V1_WARNING, "kernel feature vxlan is not available"],
    ),
    Case(
        "vxlan listed in /proc/modules counts as loaded",
        system,
        [
            lambda t: t.remove("sys", "module/vxlan"),
            lambda t: t.set("proc", "modules", "vxlan 90112 0 - Live 0x0\n"),
        ],
        warnings=[V1_WARNING],
    ),
    Case(
        "no overlay filesystem warns that containerd needs it",
        system,
        [
            lambda t: t.remove("sys", "module/overlay"),
            lambda t: t.set("proc", "filesystems", "nodev\tsysfs\n\text4\n"),
        ],
        warnings=[V1_WARNING, "kernel feature overlay is not available"],
    ),
    Case(
        "a kernel config with everything required passes",
        system,
        [lambda t: t.set_kernel_config(full_kernel_config())],
        warnings=[V1_WARNING],
    ),
    Case(
        "a kernel config without network namespaces is an error",
        system,
        [lambda t: t.set_kernel_config(full_kernel_config(NET_NS="n"))],
        errors=["unexpected kernel config: CONFIG_NET_NS not enabled"],
        warnings=[V1_WARNING],
    ),
    Case(
        "the iptables REDIRECT target may come under its older alias",
        system,
        [
            lambda t: t.set_kernel_config(
                full_kernel_config(NETFILTER_XT_TARGET_REDIRECT="", IP_NF_TARGET_REDIRECT="m")
            )
        ],
        warnings=[V1_WARNING],
    ),
    Case(
        "vxlan built into the kernel config counts without a module dir",
        system,
        [
            lambda t: t.remove("sys", "module/vxlan"),
            lambda t: t.set_kernel_config(full_kernel_config(VXLAN="y")),
        ],
        warnings=[V1_WARNING],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_host_check(machine: MachineTree, case: Case) -> None:
    for edit in case.edits:
        edit(machine)
    warnings, errors = case.check(machine).run()
    assert len(errors) == len(case.errors), errors
    for expected, actual in zip(case.errors, errors, strict=True):
        assert expected in actual
    assert len(warnings) == len(case.warnings), warnings
    for expected, actual in zip(case.warnings, warnings, strict=True):
        assert expected in actual


def test_ip_forward_check_has_kubeadms_name(machine: MachineTree) -> None:
    assert ip_forward(machine).name == "FileContent--proc-sys-net-ipv4-ip_forward"
    assert bridge_nf(machine).name == "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables"
