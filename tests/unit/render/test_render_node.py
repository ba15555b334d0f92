"""Every file of a node, listed with logical path and mode, written under a root directory."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import yaml

from kubeadmpy.paths import HostPaths
from kubeadmpy.render import (
    ContainerdValues,
    ControlPlaneValues,
    KubeletValues,
    dry_run_text,
    render_node,
    write_rendered,
)

CONTROL_PLANE_NODE_FILES = {
    "/etc/kubernetes/manifests/etcd.yaml": 0o600,
    "/etc/kubernetes/manifests/kube-apiserver.yaml": 0o600,
    "/etc/kubernetes/manifests/kube-controller-manager.yaml": 0o600,
    "/etc/kubernetes/manifests/kube-scheduler.yaml": 0o600,
    "/var/lib/kubelet/config.yaml": 0o644,
    "/var/lib/kubelet/kubeadm-flags.env": 0o644,
    "/etc/systemd/system/kubelet.service": 0o644,
    "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf": 0o644,
    "/etc/containerd/config.toml": 0o644,
    "/etc/systemd/system/containerd.service": 0o644,
}


def test_a_control_plane_node_gets_every_file_with_its_mode(
        make_control_plane: Callable[..., ControlPlaneValues],
        make_kubelet: Callable[..., KubeletValues]) -> None:
    files = render_node(make_kubelet(), ContainerdValues("registry.k8s.io/pause:3.10"),
                        make_control_plane())
    assert {str(path): file.mode for path, file in files.items()} == CONTROL_PLANE_NODE_FILES


def test_a_worker_gets_no_static_pods(make_kubelet: Callable[..., KubeletValues]) -> None:
    files = render_node(make_kubelet(), ContainerdValues("registry.k8s.io/pause:3.10"))
    assert not [path for path in files if str(path).startswith("/etc/kubernetes/manifests")]


def test_written_files_land_under_the_root_directory_with_their_modes(
        tmp_path: Path, make_control_plane: Callable[..., ControlPlaneValues],
        make_kubelet: Callable[..., KubeletValues]) -> None:
    user = {"clusterDomain": "elsewhere.local"}
    files = render_node(make_kubelet(user_config=user),
                        ContainerdValues("registry.k8s.io/pause:3.10"), make_control_plane())
    report = write_rendered(files, HostPaths(tmp_path))
    for logical, mode in CONTROL_PLANE_NODE_FILES.items():
        written = tmp_path / logical.lstrip("/")
        assert stat.S_IMODE(written.stat().st_mode) == mode
        assert written.read_text() == files[PurePosixPath(logical)].content
    assert yaml.safe_load((tmp_path / "etc/kubernetes/manifests/etcd.yaml").read_text())["kind"] \
        == "Pod"
    assert any(line.startswith("warning: KubeletConfiguration.clusterDomain") for line in report)


def test_dry_run_text_shows_every_path_mode_and_content(
        make_control_plane: Callable[..., ControlPlaneValues],
        make_kubelet: Callable[..., KubeletValues]) -> None:
    files = render_node(make_kubelet(), ContainerdValues("registry.k8s.io/pause:3.10"),
                        make_control_plane())
    text = dry_run_text(files)
    for logical, mode in CONTROL_PLANE_NODE_FILES.items():
        assert f"Would write file '{logical}' (mode {mode:04o})" in text
    assert "\t    - --advertise-address=10.0.0.10" in text
