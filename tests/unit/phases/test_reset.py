"""`kubeadmpy reset` removes what init wrote, asks first, and says what it left."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kubeadmpy.errors import PhaseError
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.reset import ResetContext, reset_workflow

INIT_FILES = [
    "etc/kubernetes/admin.conf",
    "etc/kubernetes/super-admin.conf",
    "etc/kubernetes/pki/ca.crt",
    "etc/kubernetes/pki/etcd/ca.key",
    "etc/kubernetes/manifests/kube-apiserver.yaml",
    "var/lib/kubelet/config.yaml",
    "var/lib/etcd/member/snap/db",
]


def node_after_init(root: Path) -> None:
    for rel in INIT_FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    (root / "etc/cni/net.d").mkdir(parents=True)
    (root / "etc/cni/net.d/10-bridge.conflist").write_text("{}")


def test_forced_reset_removes_every_file_init_wrote_and_keeps_cni_config(tmp_path: Path) -> None:
    node_after_init(tmp_path)
    lines: list[str] = []
    ctx = ResetContext(paths=HostPaths(tmp_path), force=True, out=lines.append)
    reset_workflow().run(ctx)
    for rel in INIT_FILES:
        assert not (tmp_path / rel).exists(), rel
    assert (tmp_path / "etc/kubernetes/manifests").is_dir()
    assert (tmp_path / "etc/cni/net.d/10-bridge.conflist").exists()
    assert any("does not clean CNI configuration" in line for line in lines)


def test_answering_no_changes_nothing(tmp_path: Path) -> None:
    node_after_init(tmp_path)
    ctx = ResetContext(paths=HostPaths(tmp_path), confirm=lambda _: False, out=lambda _: None)
    with pytest.raises(PhaseError, match="aborted reset"):
        reset_workflow().run(ctx)
    assert all((tmp_path / rel).exists() for rel in INIT_FILES)


def test_dry_run_lists_what_it_would_delete_and_deletes_nothing(tmp_path: Path) -> None:
    node_after_init(tmp_path)
    lines: list[str] = []
    ctx = ResetContext(paths=HostPaths(tmp_path), force=True, dry_run=True, out=lines.append)
    reset_workflow().run(ctx)
    assert all((tmp_path / rel).exists() for rel in INIT_FILES)
    assert "[dryrun] Would delete /etc/kubernetes/admin.conf" in lines


def test_reset_without_a_terminal_and_without_force_refuses_clearly(tmp_path: Path) -> None:
    node_after_init(tmp_path)
    result = subprocess.run(
        ["kubeadmpy", "reset", "--root-dir", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "pass --force" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "etc/kubernetes/admin.conf").exists()


def test_mounts_below_the_kubelet_dir_are_found_deepest_first(tmp_path: Path) -> None:
    from kubeadmpy.phases.reset_node import mounts_under

    kubelet = tmp_path / "var/lib/kubelet"
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        f"30 1 0:1 / / rw - ext4 /dev/vda rw\n"
        f"31 30 0:2 / {kubelet}/pods/u1/volumes/kubernetes.io~secret/s rw - tmpfs tmpfs rw\n"
        f"32 30 0:3 / {kubelet}/pods/u1 rw - tmpfs tmpfs rw\n"
        f"33 30 0:4 / {tmp_path}/var/lib/kubelet-other rw - tmpfs tmpfs rw\n"
    )
    found = mounts_under(kubelet, mountinfo)
    assert found == [kubelet / "pods/u1/volumes/kubernetes.io~secret/s", kubelet / "pods/u1"]


def run_reset_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubeadmpy", "reset", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def test_reset_reads_a_reset_configuration_and_cleans_the_tmp_dir_when_asked(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    node_after_init(root)
    (root / "etc/kubernetes/tmp").mkdir()
    (root / "etc/kubernetes/tmp/kubeadm-backup").write_text("x")
    config = tmp_path / "reset.yaml"
    config.write_text(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\n"
        "force: true\ncleanupTmpDir: true\n"
    )
    result = run_reset_cli("--root-dir", str(root), "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert not (root / "etc/kubernetes/tmp/kubeadm-backup").exists()
    assert not (root / "etc/kubernetes/admin.conf").exists()


BAD_RESET_INPUT = {
    "an unknown config field": (["--config", "CONFIG"], "certificatesDirr", "certificatesDir"),
    "an unknown phase": (["--force", "--skip-phases", "bogus"], None, "cleanup-node"),
    "a config mixed with a bound flag": (
        ["--config", "CONFIG", "--cert-dir", "/x"],
        None,
        "--cert-dir",
    ),
}


@pytest.mark.parametrize("case", BAD_RESET_INPUT.values(), ids=list(BAD_RESET_INPUT))
def test_bad_reset_input_is_named_and_changes_nothing(tmp_path: Path, case: tuple) -> None:
    args, unknown_field, must_mention = case
    root = tmp_path / "root"
    node_after_init(root)
    config = tmp_path / "reset.yaml"
    config.write_text(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\nforce: true\n"
        + (f"{unknown_field}: /x\n" if unknown_field else "")
    )
    result = run_reset_cli(
        "--root-dir", str(root), *[str(config) if a == "CONFIG" else a for a in args]
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error:") and must_mention in result.stderr
    assert "Traceback" not in result.stderr
    assert all((root / rel).exists() for rel in INIT_FILES)
