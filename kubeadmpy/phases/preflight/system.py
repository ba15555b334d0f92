"""SystemVerification: is this kernel able to run Kubernetes nodes?

kubeadm runs k8s.io/system-validators here (OS, kernel release, kernel config, cgroups). We check
the same things from /proc and /sys only, plus the two kernel features our node set-up needs
(overlayfs for containerd's snapshotter, VXLAN for flannel): required ones give errors,
optional ones warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kubeadmpy.phases.preflight import host
from kubeadmpy.phases.preflight.check import Check, Findings

# Kernel 3.10 or newer, as upstream's default spec.
KERNEL_RELEASES = (re.compile(r"^3\.[1-9][0-9].*$"), re.compile(r"^([4-9]|[1-9][0-9]+)\.\d+.*$"))

CGROUPS_V1_REQUIRED = ("cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids")
CGROUPS_V2_REQUIRED = ("cpu", "cpuset", "devices", "freezer", "memory", "pids")
CGROUPS_OPTIONAL = ("hugetlb",)

# Checked only when the kernel publishes its config (/proc/config.gz); each entry lists aliases.
KERNEL_CONFIG_REQUIRED: tuple[tuple[str, ...], ...] = (
    ("NAMESPACES",),
    ("NET_NS",),
    ("PID_NS",),
    ("IPC_NS",),
    ("UTS_NS",),
    ("CGROUPS",),
    ("CGROUP_CPUACCT",),
    ("CGROUP_DEVICE",),
    ("CGROUP_FREEZER",),
    ("CGROUP_SCHED",),
    ("CPUSETS",),
    ("MEMCG",),
    ("INET",),
    ("EXT4_FS",),
    ("PROC_FS",),
    ("NETFILTER_XT_TARGET_REDIRECT", "IP_NF_TARGET_REDIRECT"),
    ("NETFILTER_XT_MATCH_COMMENT",),
    ("FAIR_GROUP_SCHED",),
)


@dataclass(frozen=True)
class KernelFeature:
    """An optional kernel feature: present if any of its signs is, otherwise a warning."""

    name: str
    filesystem: str | None  # listed in /proc/filesystems
    module: str  # under /sys/module or in /proc/modules
    config: str  # CONFIG_* option, y or m
    needed_for: str


KERNEL_FEATURES = (
    KernelFeature(
        "overlay", "overlay", "overlay", "CONFIG_OVERLAY_FS", "containerd's overlayfs snapshotter"
    ),
    KernelFeature("vxlan", None, "vxlan", "CONFIG_VXLAN", "flannel's VXLAN backend"),
)


def _os_and_release(proc_root: Path) -> Findings:
    errors: list[str] = []
    kind = host.os_type(proc_root)
    if kind and kind != "Linux":
        errors.append(f"unsupported operating system: {kind}")
    release = host.kernel_release(proc_root)
    if not release:
        errors.append(f"cannot read the kernel release from {proc_root / 'sys/kernel/osrelease'}")
    elif not any(pattern.match(release) for pattern in KERNEL_RELEASES):
        errors.append(f"unsupported kernel release: {release} (3.10 or newer is required)")
    return Findings(errors=tuple(errors))


def _kernel_config(config: dict[str, str] | None) -> Findings:
    if config is None:
        return Findings.ok()  # not published: features are verified directly below
    missing = []
    for aliases in KERNEL_CONFIG_REQUIRED:
        if not any(config.get(f"CONFIG_{alias}") in ("y", "m") for alias in aliases):
            missing.append(f"CONFIG_{aliases[0]}")
    if missing:
        return Findings.error(f"unexpected kernel config: {' '.join(missing)} not enabled")
    return Findings.ok()


def _cgroups(proc_root: Path, sys_root: Path) -> Findings:
    info = host.cgroup_info(proc_root, sys_root)
    if info is None:
        return Findings.error(f"no cgroup filesystem is mounted at {host.CGROUP_MOUNTPOINT}")
    warnings: list[str] = []
    errors: list[str] = []
    if info.version == 1:
        warnings.append("cgroups v1 support is in maintenance mode, please migrate to cgroups v2")
        required: tuple[str, ...] = CGROUPS_V1_REQUIRED
    else:
        required = CGROUPS_V2_REQUIRED
    missing = [name for name in required if name not in info.controllers]
    if missing:
        errors.append(f"missing required cgroups: {' '.join(missing)}")
    missing_optional = [name for name in CGROUPS_OPTIONAL if name not in info.controllers]
    if missing_optional:
        warnings.append(f"missing optional cgroups: {' '.join(missing_optional)}")
    return Findings(tuple(warnings), tuple(errors))


def _features(proc_root: Path, sys_root: Path, config: dict[str, str] | None) -> Findings:
    warnings: list[str] = []
    mountable = host.filesystems(proc_root)
    for feature in KERNEL_FEATURES:
        present = (
            (feature.filesystem is not None and feature.filesystem in mountable)
            or host.module_present(feature.module, proc_root, sys_root)
            or (config or {}).get(feature.config) == "y"
        )
        if not present:
            warnings.append(
                f"kernel feature {feature.name} is not available (module not loaded, not built "
                f"in): {feature.needed_for} needs it; load it with 'modprobe {feature.module}'"
            )
    return Findings(warnings=tuple(warnings))


def system_verification(proc_root: Path = host.PROC, sys_root: Path = host.SYS) -> Check:
    def run() -> Findings:
        config = host.kernel_config(proc_root)
        return (
            _os_and_release(proc_root)
            + _kernel_config(config)
            + _cgroups(proc_root, sys_root)
            + _features(proc_root, sys_root, config)
        )

    return Check(
        "SystemVerification", run, "kernel release, kernel config, cgroups, overlay, vxlan"
    )
