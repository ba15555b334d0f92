"""The `reset` workflow: undo what `init`/`join` wrote on this machine.

Like kubeadm, reset is best-effort and says what it left: it stops the kubelet, removes every
pod from containerd, unmounts the kubelet's volumes and removes the *contents* of the manifests
dir, the kubelet dir, the certificates dir, the CNI state dir and the pod log dirs, the
kubeconfig files, the etcd data dir of a local etcd, the pod network init/join installed (flannel's
conflist and plugin launcher, its VXLAN device, masquerade table and subnet.env, the bridge
`cni0`), kube-proxy's nftables table, and the encryption-at-rest key folder
(/etc/kubernetes/encryption). CNI configs it did not write, iptables rules, $HOME/.kube/config
and the running containerd stay; it prints how to clean those by hand.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.paths import (
    DEFAULT_CERTIFICATES_DIR,
    ETCD_DATA_DIR,
    KUBECONFIG_FILES,
    KUBELET_DIR,
    KUBERNETES_DIR,
    MANIFESTS_DIR,
    HostPaths,
)
from kubeadmpy.phases import pod_network, reset_network, reset_node
from kubeadmpy.phases.workflow import Phase, Workflow
from kubeadmpy.render.encryption import ENCRYPTION_DIR

CNI_STATE_DIR = PurePosixPath("/var/lib/cni")
# The CRI log files of the pods reset removed: a static pod's uid (and so its log directory) is
# the same on the next init, which must not show the old run's lines as its own.
POD_LOG_DIRS = (PurePosixPath("/var/log/pods"), PurePosixPath("/var/log/containers"))

Printer = Callable[[str], None]
Confirm = Callable[[str], bool]

IPTABLES_NOTE = """\
The reset process does not reset or clean up iptables rules or IPVS tables (kubeadmpy's
flannel and kube-proxy use nftables, whose tables it removed; another addon may have added some).
If you wish to reset iptables, you must do so manually by using the "iptables" command."""
KUBECONFIG_NOTE = """\
The reset process does not clean your kubeconfig files and you must remove them manually.
Please, check the contents of the $HOME/.kube/config file."""


@dataclass
class ResetContext:
    """What the reset phases use."""

    paths: HostPaths
    certificates_dir: PurePosixPath = DEFAULT_CERTIFICATES_DIR
    etcd_data_dir: PurePosixPath = ETCD_DATA_DIR
    force: bool = False
    dry_run: bool = False
    cri_socket: str = "unix:///run/containerd/containerd.sock"
    cleanup_tmp_dir: bool = False
    out: Printer = print
    confirm: Confirm | None = None
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ResetAborted(KubeadmpyError):
    """The user answered no to the confirmation prompt."""


def _confirm(ctx: ResetContext) -> None:
    if os.geteuid() != 0 and ctx.paths.root == Path("/"):
        raise KubeadmpyError("[preflight] user is not running as root; run reset as root")
    if ctx.force:
        return
    question = (
        "[reset] WARNING: Changes made to this host by 'kubeadmpy init' or 'kubeadmpy join' "
        "will be reverted.\n[reset] Are you sure you want to proceed? [y/N]: "
    )
    if ctx.confirm is None:
        if not sys.stdin.isatty():
            raise ResetAborted(
                "reset needs confirmation but standard input is not a terminal; "
                "pass --force to reset without asking"
            )
        answer = input(question)
        agreed = answer.strip().lower() in ("y", "yes")
    else:
        agreed = ctx.confirm(question)
    if not agreed:
        raise ResetAborted("aborted reset operation")


def _remove_path(ctx: ResetContext, logical: PurePosixPath) -> None:
    host = ctx.paths.host(logical)
    if not host.exists() and not host.is_symlink():
        return
    if ctx.dry_run:
        ctx.out(f"[dryrun] Would delete {logical}")
    elif host.is_dir() and not host.is_symlink():
        shutil.rmtree(host)
    else:
        host.unlink()
    ctx.removed.append(str(logical))


def _remove_contents(ctx: ResetContext, logical: PurePosixPath) -> None:
    host = ctx.paths.host(logical)
    if not host.is_dir():
        return
    ctx.out(f"[reset] Deleting contents of directory: {logical}")
    for child in sorted(host.iterdir()):
        _remove_path(ctx, logical / child.name)


def remove_etcd_data(ctx: ResetContext) -> None:
    """A single stacked member: wipe the data dir (member removal needs a running cluster)."""
    _remove_contents(ctx, ctx.etcd_data_dir)


def stop_node(ctx: ResetContext) -> None:
    """Stop the kubelet and remove its pods (real machine only)."""
    if ctx.paths.root != Path("/") or ctx.dry_run:
        if ctx.dry_run:
            ctx.out("[dryrun] Would stop the kubelet and remove all pods from containerd")
        return
    reset_node.stop_kubelet(ctx.paths, ctx.out)
    socket = Path(ctx.cri_socket.removeprefix("unix://"))
    for left in reset_node.remove_pods(ctx.out, socket):
        ctx.warnings.append(left)
        ctx.out(f"[reset] WARNING: could not remove {left}")


def cleanup_node(ctx: ResetContext) -> None:
    """Remove manifests, kubelet state, certificates, kubeconfig files and CNI state."""
    stop_node(ctx)
    kubelet_dir = ctx.paths.host(KUBELET_DIR)
    if kubelet_dir.is_dir() and not ctx.dry_run:
        for left in reset_node.unmount_under(kubelet_dir, ctx.out):
            ctx.warnings.append(left)
            ctx.out(f"[reset] WARNING: could not unmount {left}")
    if ctx.certificates_dir != DEFAULT_CERTIFICATES_DIR:
        ctx.out(
            f"[reset] WARNING: cleaning a non-default certificates directory: {ctx.certificates_dir}"
        )
    for directory in (MANIFESTS_DIR, KUBELET_DIR, ctx.certificates_dir, CNI_STATE_DIR,
                      *POD_LOG_DIRS):
        _remove_contents(ctx, directory)
    if ctx.cleanup_tmp_dir:
        _remove_contents(ctx, KUBERNETES_DIR / "tmp")
    remove_pod_network(ctx)
    remove_encryption_config(ctx)
    files = [*KUBECONFIG_FILES.values(), "bootstrap-kubelet.conf"]
    for name in files:
        _remove_path(ctx, KUBERNETES_DIR / name)
    ctx.out(f"[reset] Deleting files: {[str(KUBERNETES_DIR / n) for n in files]}")
    for note in left_behind(ctx):
        ctx.out(note)


def remove_pod_network(ctx: ResetContext) -> None:
    """Remove flannel's CNI files init/join wrote and, on this machine, the network state the
    flannel and kube-proxy DaemonSets left in the kernel (`reset_network`)."""
    for logical in reset_network.our_cni_files(ctx.paths):
        _remove_path(ctx, logical)
        if not ctx.dry_run:
            ctx.out(f"[reset] Deleted the pod network file kubeadmpy wrote: {logical}")
    if ctx.paths.root != Path("/"):
        return
    if ctx.dry_run:
        ctx.out("[dryrun] Would delete flannel's device, masquerade table and subnet.env, the "
                f"bridge {pod_network.BRIDGE_DEVICE} and kube-proxy's nftables table")
        return

    def warn(problem: str) -> None:
        ctx.warnings.append(problem)
        ctx.out(f"[reset] WARNING: could not delete {problem}")

    ctx.removed += reset_network.remove_kernel_state(ctx.out, warn)


def remove_encryption_config(ctx: ResetContext) -> None:
    """Remove the EncryptionConfiguration folder init wrote, key included.

    With a local etcd its data is wiped too; data encrypted into an etcd elsewhere can no longer
    be read, so the line says so (docs/configuration.md asks to back the key up first).
    """
    if not ctx.paths.host(ENCRYPTION_DIR).exists():
        return
    _remove_path(ctx, ENCRYPTION_DIR)
    if not ctx.dry_run:
        ctx.out(f"[reset] Deleted the encryption at rest keys: {ENCRYPTION_DIR} (values an "
                "external etcd holds encrypted with them can no longer be read)")


def left_behind(ctx: ResetContext) -> list[str]:
    """What reset does not remove, and how to remove it by hand."""
    notes = []
    others = pod_network.foreign_cni_configs(ctx.paths.host(pod_network.CNI_CONF_DIR))
    if others:
        shown = " ".join(str(pod_network.CNI_CONF_DIR / name) for name in others)
        notes.append(
            "The reset process does not clean CNI configuration it did not write. To do so, "
            f"you must remove {shown}"
        )
    notes.append(IPTABLES_NOTE)
    notes.append(KUBECONFIG_NOTE)
    if ctx.paths.root == Path("/") and (containerd := reset_node.containerd_left_running(ctx.paths)):
        notes.append(containerd)
    return notes


RESET_PHASES: tuple[Phase[ResetContext], ...] = (
    Phase("preflight", "Run reset pre-flight checks", run=_confirm),
    Phase("remove-etcd-member", "Remove a local etcd member", run=remove_etcd_data),
    Phase("cleanup-node", "Run cleanup node.", run=cleanup_node),
)


def reset_workflow() -> Workflow[ResetContext]:
    return Workflow("reset", RESET_PHASES)
