"""All files of one node in one call, and writing rendered files through `HostPaths`, for
phases that write a whole node and for --dry-run (a redirected root directory)."""

from __future__ import annotations

from pathlib import PurePosixPath

from kubeadmpy.files import write_file
from kubeadmpy.paths import HostPaths
from kubeadmpy.render.containerd import ContainerdValues, render_containerd_config
from kubeadmpy.render.environment import RenderedFile
from kubeadmpy.render.kubelet import KubeletValues, render_kubelet
from kubeadmpy.render.staticpods import render_control_plane, render_etcd
from kubeadmpy.render.units import render_containerd_unit, render_kubelet_units
from kubeadmpy.render.values import ControlPlaneValues


def render_node(kubelet: KubeletValues, containerd: ContainerdValues,
                control_plane: ControlPlaneValues | None = None,
                ) -> dict[PurePosixPath, RenderedFile]:
    """Every file of one node, keyed by logical path: static pods (control-plane nodes only),
    kubelet config, flags and units, containerd config and unit."""
    files: dict[PurePosixPath, RenderedFile] = {}
    if control_plane is not None:
        files.update(render_etcd(control_plane))
        files.update(render_control_plane(control_plane))
    files.update(render_kubelet(kubelet))
    files.update(render_kubelet_units(kubelet))
    files.update(render_containerd_config(containerd))
    files.update(render_containerd_unit())
    return files


def write_rendered(files: dict[PurePosixPath, RenderedFile], paths: HostPaths) -> list[str]:
    """Write `files` under `paths` with their modes; returns one line per file for the user."""
    written = []
    for logical, rendered in sorted(files.items()):
        write_file(paths.host(logical), rendered.content, mode=rendered.mode)
        written.append(f"wrote {logical} (mode {rendered.mode:04o})")
        written += [f"warning: {warning}" for warning in rendered.warnings]
    return written


def dry_run_text(files: dict[PurePosixPath, RenderedFile]) -> str:
    """What ``--dry-run`` prints: each file's path, mode and content, as kubeadm's dry run does."""
    parts = []
    for logical, rendered in sorted(files.items()):
        parts.append(f"[dryrun] Would write file {str(logical)!r} (mode {rendered.mode:04o}) "
                     "with content:")
        parts.append("\n".join("\t" + line for line in rendered.content.splitlines()))
    return "\n".join(parts) + "\n"
