"""Volume teardown never deletes through a mount it could not remove.

Real tmpfs mounts under a pod folder (as an emptyDir with medium Memory gets): teardown unmounts
and removes the folder; while a process holds a file open on the tmpfs, umount fails with
"target is busy", teardown says so and keeps the folder and the data; once the file is closed a
second teardown finishes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeadmpy.kubelet.volumes import VolumeError, VolumeManager


@pytest.fixture
def pods_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "pods"
    directory.mkdir()
    yield directory
    # whatever a failing test left mounted goes, deepest first
    found = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True)
    for target in sorted((t for t in found.stdout.split() if t.startswith(str(directory))),
                         reverse=True):
        subprocess.run(["umount", "-l", target], check=False)


def manager(pods_dir: Path) -> VolumeManager:
    def unused(*_: object) -> None:
        raise AssertionError("teardown reads no API objects")
    return VolumeManager(pods_dir, unused, unused, dict)  # type: ignore[arg-type]


def tmpfs_volume(pods_dir: Path, uid: str, name: str) -> Path:
    volume = pods_dir / uid / "volumes" / "kubernetes.io~empty-dir" / name
    volume.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(volume)], check=True)
    return volume


def test_teardown_unmounts_then_removes_the_pod_folder(pods_dir: Path) -> None:
    volumes = [tmpfs_volume(pods_dir, "pod-a", name) for name in ("one", "two")]
    for volume in volumes:
        (volume / "data").write_text("scratch")
    manager(pods_dir).teardown("pod-a")
    assert not (pods_dir / "pod-a").exists()


def test_a_busy_mount_keeps_the_folder_and_its_data(pods_dir: Path) -> None:
    volume = tmpfs_volume(pods_dir, "pod-b", "busy")
    (volume / "data").write_text("precious")
    with (volume / "data").open():
        with pytest.raises(VolumeError, match=r"pod pod-b: volumes still mounted.*busy"):
            manager(pods_dir).teardown("pod-b")
        assert (volume / "data").read_text() == "precious"
    manager(pods_dir).teardown("pod-b")
    assert not (pods_dir / "pod-b").exists()
