"""`init` with secretsEncryption: control-plane/apiserver writes the EncryptionConfiguration
(0600 in a 0700 folder) before the manifest that points at it, never replaces an existing key,
stops on a broken file without writing anything, and `reset` removes the folder."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from kubeadmpy.config import NodeFacts, load_init_config
from kubeadmpy.errors import PhaseError
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.init import InitContext, init_workflow
from kubeadmpy.phases.reset import ResetContext, reset_workflow
from kubeadmpy.security import encryption_config

FACTS = NodeFacts(hostname="cp1", advertise_address="10.0.0.10")
CONFIG = "etc/kubernetes/encryption/config.yaml"
MANIFEST = "etc/kubernetes/manifests/kube-apiserver.yaml"
OURS = "apiVersion: kubeadmpy.io/v1alpha1\nkind: KubeadmpyConfiguration\n"
ENABLED = OURS + "secretsEncryption: {enabled: true}\n"


def run_apiserver_phase(root: Path, text: str = ENABLED) -> list[str]:
    """`kubeadmpy init phase control-plane apiserver --root-dir root` with `text` as --config."""
    lines: list[str] = []
    bundle = load_init_config(None, text=text, facts=FACTS)
    ctx = InitContext(bundle=bundle, paths=HostPaths(root), out=lines.append)
    init_workflow().run(ctx, only="control-plane/apiserver")
    return lines


def apiserver_command(root: Path) -> list[str]:
    pod = yaml.safe_load((root / MANIFEST).read_text())
    return list(pod["spec"]["containers"][0]["command"])


def files_under(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode & 0o777)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_new_key_file_is_written_private_and_the_manifest_points_at_it(tmp_path: Path) -> None:
    lines = run_apiserver_phase(tmp_path)
    config = tmp_path / CONFIG
    assert config.stat().st_mode & 0o777 == 0o600
    assert config.parent.stat().st_mode & 0o777 == 0o700
    parsed = encryption_config.load(config)
    (entry,) = parsed.entries
    assert entry.resources == ("secrets",)
    assert [p.kind for p in entry.providers] == ["secretbox", "identity"]
    (key,) = entry.providers[0].keys
    assert key.name == "key1" and len(key.secret) == 32
    assert "--encryption-provider-config=/etc/kubernetes/encryption/config.yaml" in \
        apiserver_command(tmp_path)
    assert lines[0] == ('[encryption] Generated a secretbox key "key1" for secrets in '
                        '"/etc/kubernetes/encryption/config.yaml"')


def test_the_folder_is_made_private_even_when_it_already_exists(tmp_path: Path) -> None:
    (tmp_path / CONFIG).parent.mkdir(parents=True)
    (tmp_path / CONFIG).parent.chmod(0o755)
    run_apiserver_phase(tmp_path)
    assert (tmp_path / CONFIG).parent.stat().st_mode & 0o777 == 0o700


def test_the_chosen_provider_and_resources_are_written(tmp_path: Path) -> None:
    run_apiserver_phase(tmp_path, OURS + "secretsEncryption: {enabled: true, provider: aescbc, "
                                         "resources: [secrets, configmaps]}\n")
    (entry,) = encryption_config.load(tmp_path / CONFIG).entries
    assert entry.resources == ("secrets", "configmaps")
    assert [p.kind for p in entry.providers] == ["aescbc", "identity"]


def test_an_existing_file_is_kept_byte_for_byte(tmp_path: Path) -> None:
    run_apiserver_phase(tmp_path)
    before = (tmp_path / CONFIG).read_bytes()
    lines = run_apiserver_phase(tmp_path)
    assert (tmp_path / CONFIG).read_bytes() == before
    assert lines[0] == ('[encryption] Using existing EncryptionConfiguration '
                        '"/etc/kubernetes/encryption/config.yaml"')


def test_an_existing_file_with_another_provider_is_kept_with_a_warning(tmp_path: Path) -> None:
    run_apiserver_phase(tmp_path)
    before = (tmp_path / CONFIG).read_bytes()
    (tmp_path / CONFIG).chmod(0o644)
    lines = run_apiserver_phase(tmp_path, OURS + "secretsEncryption: {enabled: true, "
                                                 "provider: aesgcm}\n")
    assert (tmp_path / CONFIG).read_bytes() == before
    assert any("writes secrets with secretbox, not the configured aesgcm; the file is kept"
               in line for line in lines), lines
    assert any("has mode 0644 and holds encryption keys; run chmod 600" in line
               for line in lines), lines


def key_of_length(n: int) -> str:
    return base64.b64encode(b"k" * n).decode()


BROKEN = {
    "not YAML": "resources: [\n",
    "empty": "",
    "another kind": "apiVersion: v1\nkind: ConfigMap\n",
    "a key of the wrong length": (
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
        "- resources: [secrets]\n  providers:\n  - secretbox:\n      keys:\n"
        f"      - {{name: key1, secret: {key_of_length(16)}}}\n"),
    "a key that is not base64": (
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
        "- resources: [secrets]\n  providers:\n  - aescbc: {keys: [{name: k, secret: '!!'}]}\n"),
    "bytes that are not text": b"\xff\xfe\x00garbage",
}


@pytest.mark.parametrize("content", BROKEN.values(), ids=list(BROKEN))
def test_a_broken_file_stops_init_naming_the_file_and_nothing_is_written(
        content: str | bytes, tmp_path: Path) -> None:
    config = tmp_path / CONFIG
    config.parent.mkdir(parents=True)
    if isinstance(content, bytes):
        config.write_bytes(content)
    else:
        config.write_text(content)
    before = files_under(tmp_path)
    with pytest.raises(PhaseError) as caught:
        run_apiserver_phase(tmp_path)
    message = str(caught.value)
    assert message.startswith("[control-plane/apiserver] /etc/kubernetes/encryption/config.yaml "
                              "exists but the API server would refuse it: ")
    assert "kubeadmpy does not replace it" in message and "remove it and run init again" in message
    assert "Traceback" not in message
    assert files_under(tmp_path) == before  # no manifest, and the file untouched


def test_disabled_writes_no_file_and_no_flag(tmp_path: Path) -> None:
    run_apiserver_phase(tmp_path, OURS)
    assert not (tmp_path / "etc/kubernetes/encryption").exists()
    assert not any("encryption" in word for word in apiserver_command(tmp_path))


def test_reset_removes_the_encryption_folder(tmp_path: Path) -> None:
    run_apiserver_phase(tmp_path)
    lines: list[str] = []
    reset_workflow().run(ResetContext(paths=HostPaths(tmp_path), force=True, out=lines.append))
    assert not (tmp_path / "etc/kubernetes/encryption").exists()
    assert any(line.startswith("[reset] Deleted the encryption at rest keys: "
                               "/etc/kubernetes/encryption") for line in lines), lines


def test_reset_dry_run_keeps_the_encryption_folder(tmp_path: Path) -> None:
    run_apiserver_phase(tmp_path)
    before = (tmp_path / CONFIG).read_bytes()
    lines: list[str] = []
    reset_workflow().run(ResetContext(paths=HostPaths(tmp_path), force=True, dry_run=True,
                                      out=lines.append))
    assert (tmp_path / CONFIG).read_bytes() == before
    assert "[dryrun] Would delete /etc/kubernetes/encryption" in lines


def test_a_dry_run_init_does_not_print_the_key(tmp_path: Path) -> None:
    config = tmp_path / "kubeadm.yaml"
    config.write_text("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n"
                      "localAPIEndpoint: {advertiseAddress: 10.0.0.10}\n"
                      "nodeRegistration: {name: cp1}\n---\n" + ENABLED)
    dry = tmp_path / "dry"
    result = subprocess.run(
        ["kubeadmpy", "init", "--dry-run", "--config", str(config)], capture_output=True,
        text=True, stdin=subprocess.DEVNULL, check=False, timeout=120,
        env={**os.environ, "KUBEADMPY_INIT_DRYRUN_DIR": str(dry)})
    assert result.returncode == 0, result.stderr
    secret = encryption_config.load(dry / CONFIG).entries[0].providers[0].keys[0].secret
    assert ('[dryrun] Would write file "/etc/kubernetes/encryption/config.yaml" (mode 0600'
            in result.stdout)
    assert base64.b64encode(secret).decode() not in result.stdout
    assert "- --encryption-provider-config=/etc/kubernetes/encryption/config.yaml" in \
        result.stdout
