"""The kubelet (re)start that init and join share, where systemd runs: a unit that systemd
cannot restart is a clear error, not a CalledProcessError traceback. A `systemctl` that fails
the way systemd does when kubelet.service is not installed stands in for the machine's (PATH is
the test's own, so nothing on this machine is restarted)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases import node_runtime


def _script(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_a_kubelet_unit_systemd_cannot_restart_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir, "kubeadmpy-kubelet", "exit 0")
    _script(bin_dir, "systemctl", '[ "$1" = restart ] || exit 0\n'
            'echo "Failed to restart kubelet.service: Unit kubelet.service not found." >&2\n'
            "exit 5")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(node_runtime, "systemd_is_init", lambda: True)
    installed: list[str] = []  # never this machine's /etc/systemd
    monkeypatch.setattr(node_runtime, "install_kubelet_units",
                        lambda _node, executable: installed.append(executable))
    node = node_runtime.NodeSetup(paths=HostPaths(Path("/")), flavor="python",
                                  pause_image="registry.k8s.io/pause:3.10",
                                  image_repository="registry.k8s.io", dry_run=False,
                                  out=lambda _: None)
    with pytest.raises(KubeadmpyError) as caught:
        node_runtime.restart_kubelet(node)
    message = str(caught.value)
    assert "systemctl restart kubelet" in message
    assert "Unit kubelet.service not found" in message
    assert "journalctl -u kubelet" in message
    assert installed == [str(bin_dir / "kubeadmpy-kubelet")]


def test_the_kubelet_units_are_written_once_with_the_installed_executable(
        tmp_path: Path) -> None:
    said: list[str] = []
    node = node_runtime.NodeSetup(paths=HostPaths(tmp_path), flavor="python",
                                  pause_image="registry.k8s.io/pause:3.10",
                                  image_repository="registry.k8s.io", dry_run=False,
                                  out=said.append)
    node_runtime.install_kubelet_units(node, "/opt/venv/bin/kubeadmpy-kubelet")
    unit = tmp_path / "etc/systemd/system/kubelet.service"
    drop_in = tmp_path / "etc/systemd/system/kubelet.service.d/10-kubeadm.conf"
    assert "ExecStart=/opt/venv/bin/kubeadmpy-kubelet" in unit.read_text()
    assert "/var/lib/kubelet/kubeadm-flags.env" in drop_in.read_text()
    assert "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf" in drop_in.read_text()
    assert len(said) == 2
    node_runtime.install_kubelet_units(node, "/opt/venv/bin/kubeadmpy-kubelet")
    assert len(said) == 2  # unchanged files are not rewritten
