"""The steps that make this machine a node: containerd, local images, the kubelet.

`init` and `join` both run them, on a `NodeSetup` each workflow builds from its own context.

kubeadm leaves the container runtime to the user and restarts the kubelet through systemd.
kubeadmpy sets up containerd itself (Debian's package, our config), makes the control-plane and
pause images present without a registry (python flavor), and starts the kubelet under systemd
where systemd runs, or under the built-in supervisor elsewhere (CI, the lab).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubeadmpy.cri.containerd_setup import containerd_values, ensure_containerd
from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.files import write_file
from kubeadmpy.images import ensure_python_flavor_images, pause_reference
from kubeadmpy.paths import KUBERNETES_DIR, HostPaths
from kubeadmpy.phases import init_values
from kubeadmpy.phases.preflight import PreflightFailed, run_preflight
from kubeadmpy.phases.preflight.check import Check
from kubeadmpy.render.kubelet import parse_kubelet_flags_env
from kubeadmpy.render.units import kubelet_units
from kubeadmpy.supervisor import ProcessSpec, Supervisor, systemd_is_init

if TYPE_CHECKING:
    from kubeadmpy.phases.init import InitContext

KUBELET_NAME = "kubelet"
KUBELET_EXECUTABLES = {"python": "kubeadmpy-kubelet", "upstream": "kubelet"}
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
KUBELET_FLAGS_ENV = "/var/lib/kubelet/kubeadm-flags.env"

Printer = Callable[[str], None]


@dataclass(frozen=True)
class NodeSetup:
    """What the node steps shared by `init` and `join` read: no InitContext, no JoinContext."""

    paths: HostPaths
    flavor: str  # "python" or "upstream": which kubelet and which images
    pause_image: str
    image_repository: str
    dry_run: bool
    out: Printer


def pause_image(ctx: InitContext) -> str:
    values = init_values.control_plane_values(ctx.bundle, ctx.paths)
    return pause_reference(values.version.pause_image_tag)


def node_setup(ctx: InitContext) -> NodeSetup:
    return NodeSetup(
        paths=ctx.paths,
        flavor=ctx.bundle.kubeadmpy.control_plane_flavor,
        pause_image=pause_image(ctx),
        image_repository=ctx.bundle.cluster.image_repository,
        dry_run=ctx.dry_run,
        out=ctx.out,
    )


def _scratch_root(node: NodeSetup, tag: str, what: str) -> bool:
    """Processes are the machine's, not a scratch tree's: with --root-dir nothing is started."""
    if node.paths.root.as_posix() == "/":
        return False
    node.out(f"[{tag}] --root-dir {node.paths.root} is set: not {what}")
    return True


def run_node_preflight(checks: list[Check], ignore: list[str], *, containerd_phase_runs: bool,
                       dry_run: bool, out: Printer, command: str) -> None:
    """Run preflight checks the way init and join both do.

    The CRI check is ignored when this run's containerd phase will start the runtime; a dry
    run shows where a real run would stop instead of stopping.
    """
    out("[preflight] Running pre-flight checks")
    already_all = any(name.strip().lower() == "all" for name in ignore)
    if not already_all and containerd_phase_runs and shutil.which("containerd"):
        ignore = [*ignore, "CRI"]
    buffer = io.StringIO()
    try:
        run_preflight(checks, ignore, buffer)
    except PreflightFailed as failed:
        if not dry_run:
            raise
        out(buffer.getvalue().rstrip("\n"))
        out(f"[dryrun] A real {command} would stop here:\n" + str(failed))
        return
    if text := buffer.getvalue().rstrip("\n"):
        out(text)


def setup_containerd(ctx: InitContext) -> None:
    start_containerd(node_setup(ctx))


def start_containerd(node: NodeSetup) -> None:
    if node.dry_run:
        node.out(
            "[dryrun] [containerd] Would write /etc/containerd/config.toml and start containerd"
        )
        return
    if _scratch_root(node, "containerd", "starting containerd"):
        return
    status = ensure_containerd(node.paths, containerd_values(node.pause_image))
    how = "started" if status.started else "already running"
    node.out(
        f"[containerd] {status.runtime_name} {status.runtime_version} {how} "
        f"(managed by {status.managed_by}), CRI at {status.endpoint}"
    )


def pull_images(ctx: InitContext) -> None:
    import_images(node_setup(ctx))


def import_images(node: NodeSetup) -> None:
    if node.flavor != "python":
        node.out(
            "[containerd] The upstream flavor's images are pulled by containerd from "
            f"{node.image_repository} when the kubelet starts the pods"
        )
        return
    if node.dry_run:
        node.out("[dryrun] [containerd] Would build and import the control-plane and pause images")
        return
    if _scratch_root(node, "containerd", "importing images into containerd"):
        return
    tag = node.pause_image.rpartition(":")[2]
    for image in ensure_python_flavor_images(node.paths, tag):
        node.out(f"[containerd] Image {image.summary} in {image.seconds:.2f}s")


def kubelet_argv(node: NodeSetup) -> list[str]:
    """The kubelet command line the rendered systemd drop-in would run."""
    executable = shutil.which(KUBELET_EXECUTABLES[node.flavor]) or KUBELET_EXECUTABLES[node.flavor]
    flags = parse_kubelet_flags_env(node.paths.host(KUBELET_FLAGS_ENV).read_text())
    return [
        executable,
        f"--bootstrap-kubeconfig={KUBERNETES_DIR / 'bootstrap-kubelet.conf'}",
        f"--kubeconfig={KUBERNETES_DIR / 'kubelet.conf'}",
        f"--config={KUBELET_CONFIG}",
        *flags,
    ]


def start_kubelet_process(ctx: InitContext) -> None:
    ctx.kubelet_started = restart_kubelet(node_setup(ctx)) or ctx.kubelet_started


def restart_kubelet(node: NodeSetup) -> bool:
    """(Re)start the kubelet; say clearly when none is installed. True when it was started."""
    executable = KUBELET_EXECUTABLES[node.flavor]
    if _scratch_root(node, "kubelet-start", "starting the kubelet"):
        return False
    if shutil.which(executable) is None:
        node.out(
            f"[kubelet-start] WARNING: {executable} is not installed on this "
            "machine; the kubelet was not started"
        )
        return False
    if systemd_is_init() and node.paths.root.as_posix() == "/":
        install_kubelet_units(node, shutil.which(executable) or executable)
        subprocess.run(["systemctl", "daemon-reload"], check=False)
        subprocess.run(["systemctl", "enable", "kubelet"], check=False, capture_output=True)
        restarted = subprocess.run(["systemctl", "restart", "kubelet"], check=False,
                                   capture_output=True, text=True)
        if restarted.returncode != 0:
            raise KubeadmpyError(
                f"'systemctl restart kubelet' failed (exit {restarted.returncode}): "
                f"{restarted.stderr.strip() or restarted.stdout.strip()}. Where systemd runs, "
                "the kubelet is started through kubelet.service and its 10-kubeadm.conf "
                "drop-in: install or fix them, and see 'systemctl status kubelet' and "
                "'journalctl -u kubelet'"
            )
        node.out("[kubelet-start] Starting the kubelet (systemd)")
    else:
        supervisor = Supervisor(node.paths)
        supervisor.stop(KUBELET_NAME)
        status = supervisor.start(ProcessSpec(KUBELET_NAME, tuple(kubelet_argv(node))))
        node.out(f"[kubelet-start] Starting the kubelet (pid {status.pid}, log {status.log_path})")
    return True


def install_kubelet_units(node: NodeSetup, executable: str) -> None:
    """Where systemd runs, the kubelet is a unit: kubelet.service and kubeadm's 10-kubeadm.conf
    drop-in (which reads kubeadm-flags.env and the kubeconfig/config arguments), as the
    kubeadm packages install them. Rewritten only when the content differs."""
    for logical, rendered in kubelet_units(executable).items():
        target = node.paths.host(logical)
        if target.is_file() and target.read_text() == rendered.content:
            continue
        write_file(target, rendered.content, rendered.mode)
        node.out(f"[kubelet-start] Writing kubelet unit {logical}")


def kubelet_log_hint(paths: HostPaths) -> str:
    """Where this machine's kubelet logs, for error messages."""
    if systemd_is_init() and paths.root.as_posix() == "/":
        return "'journalctl -u kubelet'"
    return str(Supervisor(paths).log_file(KUBELET_NAME))
