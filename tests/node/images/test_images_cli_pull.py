"""`kubeadmpy config images pull` builds and imports the python flavor's images, once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kubeadmpy
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.images import CONTROL_PLANE_IMAGE, containerd_image_digests


@pytest.fixture
def frozen_checkout(tmp_path: Path) -> Path:
    """A copy of the package, so edits to the working tree between two pulls change nothing."""
    project = Path(kubeadmpy.__file__).parent.parent
    shutil.copytree(project / "kubeadmpy", tmp_path / "kubeadmpy",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(project / "templates", tmp_path / "templates")
    return tmp_path


def pull(runtime: ScratchContainerd, checkout: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "kubeadmpy.cli.main", "config", "images", "pull",
         "--kubernetes-version", "v1.33.0", "--cri-socket", runtime.endpoint,
         "--root-dir", str(runtime.paths.root)],
        check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300,
        env={**os.environ, "PYTHONPATH": str(checkout)}, cwd=checkout)  # -m puts cwd first
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_pull_imports_the_local_images_and_a_second_pull_reuses_them(
        bare_runtime: ScratchContainerd, frozen_checkout: Path) -> None:
    first = pull(bare_runtime, frozen_checkout)
    second = pull(bare_runtime, frozen_checkout)
    assert [line.split(":")[0] for line in first] == ["[config/images] kubeadmpy.local/control-plane",
                                                     "[config/images] kubeadmpy.local/pause"]
    assert all("imported" in line for line in first), first
    assert all("cached, already present" in line for line in second), second
    held = containerd_image_digests(bare_runtime.socket)
    assert {CONTROL_PLANE_IMAGE, "kubeadmpy.local/pause:3.10"} <= set(held)


def test_an_unreachable_registry_fails_the_upstream_pull_with_the_image_named(
        bare_runtime: ScratchContainerd, tmp_path: Path) -> None:
    config = tmp_path / "kubeadm.yaml"
    # Port 1 on loopback refuses at once: nothing leaves the machine.
    config.write_text(UPSTREAM_ON_LOOPBACK.format(cri_socket=bare_runtime.endpoint))
    done = subprocess.run(
        [sys.executable, "-m", "kubeadmpy.cli.main", "config", "images", "pull",
         "--config", str(config)],
        check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "failed to pull image 127.0.0.1:1/k8s/kube-apiserver:v1.33.0" in done.stderr


UPSTREAM_ON_LOOPBACK = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
nodeRegistration:
  criSocket: {cri_socket}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.33.0
imageRepository: 127.0.0.1:1/k8s
---
apiVersion: kubeadmpy.io/v1alpha1
kind: KubeadmpyConfiguration
controlPlaneFlavor: upstream
"""
