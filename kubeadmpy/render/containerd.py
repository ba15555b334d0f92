"""/etc/containerd/config.toml for containerd 1.6/1.7 (config version 2) with the CRI plugin
set up for the kubelet, and the detection of hosts that need ``restrict_oom_score_adj``.

Some hosts (containers, restricted user namespaces, like our CI) do not let a process lower its
oom_score_adj. runc then fails every RunPodSandbox ("can't get final child's PID from pipe")
unless the CRI plugin is told to never ask for a lower score; real nodes must not get that
option, so it is rendered only when `needs_restrict_oom_score_adj` finds the condition.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from kubeadmpy.errors import ConfigError
from kubeadmpy.paths import CONTAINERD_CONFIG
from kubeadmpy.render.environment import RenderedFile, RenderError, render_template

CRI_PLUGIN = "io.containerd.grpc.v1.cri"
OOM_SCORE_ADJ_MIN = -1000

# A child process tries to lower its own score by one. Lowering needs CAP_SYS_RESOURCE; the
# child's failure leaves this process untouched.
_TRY_LOWER = (
    "import os, sys\n"
    "path = '/proc/self/oom_score_adj'\n"
    "score = int(open(path).read())\n"
    "fd = os.open(path, os.O_WRONLY)\n"
    "try:\n"
    "    os.write(fd, str(score - 1).encode())\n"
    "except OSError:\n"
    "    sys.exit(3)\n"
)


@dataclass(frozen=True)
class ContainerdValues:
    """What the containerd configuration of one node is computed from."""

    sandbox_image: str  # must exist locally when no registry is reachable
    cgroup_driver: Literal["systemd", "cgroupfs"] = "systemd"  # must match the kubelet's
    cni_bin_dir: str = "/usr/lib/cni"  # Debian's containernetworking-plugins location
    cni_conf_dir: str = "/etc/cni/net.d"
    restrict_oom_score_adj: bool = False  # see needs_restrict_oom_score_adj()
    snapshotter: str = "overlayfs"
    registry_config_path: str = "/etc/containerd/certs.d"
    # Optional relocations (tests and lab machines); "" keeps containerd's defaults.
    root_dir: str = ""
    state_dir: str = ""
    grpc_address: str = ""


def needs_restrict_oom_score_adj(proc_file: Path = Path("/proc/self/oom_score_adj")) -> bool:
    """True when processes here may not lower their oom_score_adj (checked in a child)."""
    try:
        score = int(proc_file.read_text())
    except (OSError, ValueError):
        return False  # no such knob (not Linux): nothing to restrict
    if score <= OOM_SCORE_ADJ_MIN:
        return False  # already at the floor: runc will only ever raise it
    child = subprocess.run([sys.executable, "-I", "-S", "-c", _TRY_LOWER], check=False,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    return child.returncode == 3


def validate_containerd_values(values: ContainerdValues) -> None:
    """Reject values containerd would fail on later, naming the setting and the fix."""
    if not values.sandbox_image.strip():
        raise ConfigError("containerd.sandboxImage", "is empty",
                          "name the pause image, e.g. registry.k8s.io/pause:3.10")
    if values.cgroup_driver not in ("systemd", "cgroupfs"):
        raise ConfigError("cgroupDriver", f"{values.cgroup_driver!r} is not a cgroup driver",
                          "use 'systemd' or 'cgroupfs' (the same as the kubelet's)")
    for name, path in (("containerd.cniBinDir", values.cni_bin_dir),
                       ("containerd.cniConfDir", values.cni_conf_dir),
                       ("containerd.root", values.root_dir or "/"),
                       ("containerd.state", values.state_dir or "/")):
        if not path.startswith("/"):
            raise ConfigError(name, f"{path!r} is not absolute", "give an absolute path")


def render_containerd_config(values: ContainerdValues) -> dict[PurePosixPath, RenderedFile]:
    """config.toml, parsed back with tomllib and checked, keyed by its logical path."""
    validate_containerd_values(values)
    content = render_template(
        "containerd/config.toml.j2",
        cri_plugin=CRI_PLUGIN,
        sandbox_image=values.sandbox_image,
        systemd_cgroup=values.cgroup_driver == "systemd",
        cni_bin_dir=values.cni_bin_dir,
        cni_conf_dir=values.cni_conf_dir,
        restrict_oom_score_adj=values.restrict_oom_score_adj,
        snapshotter=values.snapshotter,
        registry_config_path=values.registry_config_path,
        root_dir=values.root_dir,
        state_dir=values.state_dir,
        grpc_address=values.grpc_address,
    )
    check_containerd_config(content, values)
    return {CONTAINERD_CONFIG: RenderedFile(content, 0o644)}


def check_containerd_config(content: str, values: ContainerdValues) -> dict[str, Any]:
    """Parse a rendered config.toml and check the settings the kubelet depends on."""
    try:
        config = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise RenderError(f"{CONTAINERD_CONFIG} is not TOML: {exc}") from exc
    try:
        cri = config["plugins"][CRI_PLUGIN]
        runc = cri["containerd"]["runtimes"]["runc"]
        found = {
            "version": config["version"],
            "sandbox_image": cri["sandbox_image"],
            "SystemdCgroup": runc["options"]["SystemdCgroup"],
            "runtime_type": runc["runtime_type"],
            "bin_dir": cri["cni"]["bin_dir"],
            "conf_dir": cri["cni"]["conf_dir"],
            "restrict_oom_score_adj": cri.get("restrict_oom_score_adj", False),
        }
    except KeyError as exc:
        raise RenderError(f"{CONTAINERD_CONFIG} lacks {exc}") from exc
    expected = {
        "version": 2,
        "sandbox_image": values.sandbox_image,
        "SystemdCgroup": values.cgroup_driver == "systemd",
        "runtime_type": "io.containerd.runc.v2",
        "bin_dir": values.cni_bin_dir,
        "conf_dir": values.cni_conf_dir,
        "restrict_oom_score_adj": values.restrict_oom_score_adj,
    }
    if found != expected:
        wrong = sorted(key for key in expected if found[key] != expected[key])
        raise RenderError(f"{CONTAINERD_CONFIG} did not parse back as computed: {wrong}")
    return config
