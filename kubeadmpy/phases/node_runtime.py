"""The init phases that make this machine a node: containerd, local images, the kubelet.

kubeadm leaves the container runtime to the user and restarts the kubelet through systemd.
kubeadmpy sets up containerd itself (Debian's package, our config), makes the control-plane and
pause images present without a registry (python flavor), and starts the kubelet under systemd
where systemd runs, or under the built-in supervisor elsewhere (CI, the lab).
"""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

from kubeadmpy.cri.containerd_setup import containerd_values, ensure_containerd
from kubeadmpy.images import ensure_python_flavor_images, pause_reference
from kubeadmpy.paths import KUBERNETES_DIR
from kubeadmpy.phases import init_values
from kubeadmpy.render.kubelet import parse_kubelet_flags_env
from kubeadmpy.supervisor import ProcessSpec, Supervisor, systemd_is_init

if TYPE_CHECKING:
    from kubeadmpy.phases.init import InitContext

KUBELET_NAME = "kubelet"
KUBELET_EXECUTABLES = {"python": "kubeadmpy-kubelet", "upstream": "kubelet"}
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
KUBELET_FLAGS_ENV = "/var/lib/kubelet/kubeadm-flags.env"


def pause_image(ctx: InitContext) -> str:
    values = init_values.control_plane_values(ctx.bundle, ctx.paths)
    return pause_reference(values.version.pause_image_tag)


def _scratch_root(ctx: InitContext, tag: str, what: str) -> bool:
    """Processes are the machine's, not a scratch tree's: with --root-dir nothing is started."""
    if ctx.paths.root.as_posix() == "/":
        return False
    ctx.out(f"[{tag}] --root-dir {ctx.paths.root} is set: not {what}")
    return True


def setup_containerd(ctx: InitContext) -> None:
    if ctx.dry_run:
        ctx.out(
            "[dryrun] [containerd] Would write /etc/containerd/config.toml and start containerd"
        )
        return
    if _scratch_root(ctx, "containerd", "starting containerd"):
        return
    status = ensure_containerd(ctx.paths, containerd_values(pause_image(ctx)))
    how = "started" if status.started else "already running"
    ctx.out(
        f"[containerd] {status.runtime_name} {status.runtime_version} {how} "
        f"(managed by {status.managed_by}), CRI at {status.endpoint}"
    )


def pull_images(ctx: InitContext) -> None:
    if ctx.bundle.kubeadmpy.control_plane_flavor != "python":
        ctx.out(
            "[containerd] The upstream flavor's images are pulled by containerd from "
            f"{ctx.bundle.cluster.image_repository} when the kubelet starts the pods"
        )
        return
    if ctx.dry_run:
        ctx.out("[dryrun] [containerd] Would build and import the control-plane and pause images")
        return
    if _scratch_root(ctx, "containerd", "importing images into containerd"):
        return
    tag = pause_image(ctx).rpartition(":")[2]
    for image in ensure_python_flavor_images(ctx.paths, tag):
        ctx.out(f"[containerd] Image {image.summary} in {image.seconds:.2f}s")


def kubelet_argv(ctx: InitContext) -> list[str]:
    """The kubelet command line the rendered systemd drop-in would run."""
    flavor = ctx.bundle.kubeadmpy.control_plane_flavor
    executable = shutil.which(KUBELET_EXECUTABLES[flavor]) or KUBELET_EXECUTABLES[flavor]
    flags = parse_kubelet_flags_env(ctx.paths.host(KUBELET_FLAGS_ENV).read_text())
    return [
        executable,
        f"--bootstrap-kubeconfig={KUBERNETES_DIR / 'bootstrap-kubelet.conf'}",
        f"--kubeconfig={KUBERNETES_DIR / 'kubelet.conf'}",
        f"--config={KUBELET_CONFIG}",
        *flags,
    ]


def start_kubelet_process(ctx: InitContext) -> None:
    """(Re)start the kubelet; say clearly when none is installed."""
    flavor = ctx.bundle.kubeadmpy.control_plane_flavor
    if _scratch_root(ctx, "kubelet-start", "starting the kubelet"):
        return
    if shutil.which(KUBELET_EXECUTABLES[flavor]) is None:
        ctx.out(
            f"[kubelet-start] WARNING: {KUBELET_EXECUTABLES[flavor]} is not installed on this "
            "machine; the kubelet was not started"
        )
        return
    if systemd_is_init() and ctx.paths.root.as_posix() == "/":
        subprocess.run(["systemctl", "daemon-reload"], check=False)
        subprocess.run(["systemctl", "restart", "kubelet"], check=True)
        ctx.out("[kubelet-start] Starting the kubelet (systemd)")
    else:
        supervisor = Supervisor(ctx.paths)
        supervisor.stop(KUBELET_NAME)
        status = supervisor.start(ProcessSpec(KUBELET_NAME, tuple(kubelet_argv(ctx))))
        ctx.out(f"[kubelet-start] Starting the kubelet (pid {status.pid}, log {status.log_path})")
    ctx.kubelet_started = True
