"""`kubeadmpy config images pull` builds and imports the python flavor's images, once."""

from __future__ import annotations

import subprocess
import sys

from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.images import CONTROL_PLANE_IMAGE, containerd_image_digests


def pull(runtime: ScratchContainerd) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "kubeadmpy.cli.main", "config", "images", "pull",
         "--kubernetes-version", "v1.33.0", "--cri-socket", runtime.endpoint,
         "--root-dir", str(runtime.paths.root)],
        check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_pull_imports_the_local_images_and_a_second_pull_reuses_them(
        bare_runtime: ScratchContainerd) -> None:
    first = pull(bare_runtime)
    second = pull(bare_runtime)
    assert [line.split(":")[0] for line in first] == ["[config/images] kubeadmpy.local/control-plane",
                                                     "[config/images] kubeadmpy.local/pause"]
    assert all("imported" in line for line in first), first
    assert all("cached, already present" in line for line in second), second
    held = containerd_image_digests(bare_runtime.socket)
    assert {CONTROL_PLANE_IMAGE, "kubeadmpy.local/pause:3.10"} <= set(held)
