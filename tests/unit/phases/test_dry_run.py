"""A dry run shows every file under its logical path and never prints key material."""

from __future__ import annotations

from pathlib import Path

from kubeadmpy.phases.dry_run import DRY_RUN_DIR_ENV, describe_written_files, dry_run_root


def test_files_are_shown_by_logical_path_and_secrets_are_withheld(tmp_path: Path) -> None:
    (tmp_path / "etc/kubernetes/pki").mkdir(parents=True)
    (tmp_path / "etc/kubernetes/pki/ca.key").write_text("-----BEGIN EC PRIVATE KEY-----\nabc\n")
    (tmp_path / "etc/kubernetes/manifests").mkdir()
    (tmp_path / "etc/kubernetes/manifests/etcd.yaml").write_text("kind: Pod\n")
    lines = describe_written_files(tmp_path)
    text = "\n".join(lines)
    assert '"/etc/kubernetes/manifests/etcd.yaml" (mode' in text and "\tkind: Pod" in lines
    assert '"/etc/kubernetes/pki/ca.key"' in text and "key material not shown" in text
    assert "abc" not in text and "PRIVATE KEY" not in text
    assert lines[-1].endswith(f'"{tmp_path}"')


def test_the_dry_run_directory_can_be_chosen_and_is_created(tmp_path: Path) -> None:
    wanted = tmp_path / "a/b"
    assert dry_run_root({DRY_RUN_DIR_ENV: str(wanted)}) == wanted and wanted.is_dir()
