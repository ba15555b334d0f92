from pathlib import Path

import pytest

from kubeadmpy.paths import HostPaths


def test_root_dir_moves_every_absolute_path_under_it(tmp_path: Path) -> None:
    paths = HostPaths(tmp_path)
    assert paths.host("/etc/kubernetes/pki/ca.crt") == tmp_path / "etc/kubernetes/pki/ca.crt"
    assert paths.manifests_dir == tmp_path / "etc/kubernetes/manifests"


def test_default_root_is_the_real_filesystem() -> None:
    assert HostPaths().host("/var/lib/kubelet") == Path("/var/lib/kubelet")


def test_relative_paths_are_refused() -> None:
    with pytest.raises(ValueError, match="absolute"):
        HostPaths().host("etc/kubernetes")
