"""`kubeadmpy config images list` as kubeadm prints it, per flavor."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kubeadmpy.images import CONTROL_PLANE_IMAGE

UPSTREAM = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.31.3
imageRepository: registry.example.internal/k8s
---
apiVersion: kubeadmpy.io/v1alpha1
kind: KubeadmpyConfiguration
controlPlaneFlavor: upstream
"""


def run(*args: str) -> tuple[int, str]:
    """The exit code and output `kubeadmpy config images ARGS` gives a user."""
    result = subprocess.run([sys.executable, "-m", "kubeadmpy.cli.main", "config", "images",
                             *args], check=False, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=120)
    return result.returncode, result.stdout + result.stderr


def test_the_python_flavor_lists_the_local_images() -> None:
    code, output = run("list", "--kubernetes-version", "v1.32.0")
    assert code == 0, output
    assert output.splitlines() == [CONTROL_PLANE_IMAGE, "kubeadmpy.local/pause:3.10"]


def test_the_upstream_flavor_lists_kubeadms_images_from_the_configured_repository(
        tmp_path: Path) -> None:
    config = tmp_path / "kubeadm.yaml"
    config.write_text(UPSTREAM)
    code, output = run("list", "--config", str(config), "-o", "json")
    assert code == 0, output
    document = json.loads(output)
    assert document["kind"] == "Images"
    assert document["images"] == [
        "registry.example.internal/k8s/kube-apiserver:v1.31.3",
        "registry.example.internal/k8s/kube-controller-manager:v1.31.3",
        "registry.example.internal/k8s/kube-scheduler:v1.31.3",
        "registry.example.internal/k8s/kube-proxy:v1.31.3",
        "registry.example.internal/k8s/coredns/coredns:v1.11.3",
        "registry.example.internal/k8s/pause:3.10",
        "registry.example.internal/k8s/etcd:3.5.15-0",
    ]


@pytest.mark.parametrize("args, field", [
    (("list", "-o", "xml"), "--output"),
    (("list", "--kubernetes-version", "banana"), "kubernetesVersion"),
], ids=["an unknown output format names --output", "a bad version names the version"])
def test_bad_input_is_a_clear_error(args: tuple[str, ...], field: str) -> None:
    code, output = run(*args)
    assert code != 0
    assert field in output


def test_pull_without_a_runtime_names_the_socket_and_builds_nothing(tmp_path: Path) -> None:
    socket = tmp_path / "nothing.sock"
    code, output = run("pull", "--cri-socket", f"unix://{socket}",
                       "--root-dir", str(tmp_path / "root"))
    assert code == 1
    assert f"--cri-socket: no container runtime answers on unix://{socket}" in output
    assert not (tmp_path / "root").exists()
