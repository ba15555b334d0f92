"""reset on a node: kubelet volume mounts are unmounted before their directories are deleted."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.reset import ResetContext, reset_workflow


def test_reset_unmounts_a_real_tmpfs_volume_before_deleting_it(tmp_path: Path) -> None:
    volume = tmp_path / "var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/cache"
    volume.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(volume)], check=True)
    try:
        (volume / "data").write_text("x")
        ctx = ResetContext(paths=HostPaths(tmp_path), force=True, out=lambda _: None)
        reset_workflow().run(ctx)
        assert not (tmp_path / "var/lib/kubelet/pods").exists()
    finally:
        subprocess.run(["umount", str(volume)], check=False, capture_output=True)
