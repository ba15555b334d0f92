"""`kubeadmpy config ...` as a user runs it: a separate process, its output and exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml


def kubeadmpy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubeadmpy.cli.main", *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("which", "kinds"),
    [("init-defaults", ["InitConfiguration", "ClusterConfiguration", "KubeadmpyConfiguration"]),
     ("join-defaults", ["JoinConfiguration", "KubeadmpyConfiguration"]),
     ("reset-defaults", ["ResetConfiguration"])],
)
def test_print_defaults_then_validate_says_ok(which: str, kinds: list[str],
                                              tmp_path: Path) -> None:
    printed = kubeadmpy("config", "print", which)
    assert printed.returncode == 0, printed.stderr
    assert [d["kind"] for d in yaml.safe_load_all(printed.stdout)] == kinds
    path = tmp_path / "kubeadm.yaml"
    path.write_text(printed.stdout)
    validated = kubeadmpy("config", "validate", "--config", str(path))
    assert (validated.returncode, validated.stdout, validated.stderr) == (0, "ok\n", "")


def test_print_with_component_configs_adds_kubelet_and_kube_proxy() -> None:
    printed = kubeadmpy("config", "print", "init-defaults", "--component-configs",
                        "KubeletConfiguration,KubeProxyConfiguration")
    assert printed.returncode == 0, printed.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(printed.stdout)]
    assert kinds[-2:] == ["KubeletConfiguration", "KubeProxyConfiguration"]


def test_unknown_component_config_is_a_clear_error() -> None:
    printed = kubeadmpy("config", "print", "join-defaults", "--component-configs", "Etcd")
    assert printed.returncode == 1
    assert printed.stderr == ("error: --component-configs: 'Etcd' is not a component config. "
                              "Use KubeletConfiguration or KubeProxyConfiguration\n")


def test_validate_reports_the_document_field_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "kubeadm.yaml"
    path.write_text("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"
                    "networking:\n  podSubnett: 10.244.0.0/16\n")
    validated = kubeadmpy("config", "validate", "--config", str(path))
    assert validated.returncode == 1
    assert validated.stdout == ""
    assert validated.stderr == (
        f'error: {path}, document 1 (ClusterConfiguration): networking.podSubnett: unknown '
        'field. Did you mean "podSubnet"?\n')


def test_validate_prints_warnings_and_still_says_ok(tmp_path: Path) -> None:
    path = tmp_path / "kubeadm.yaml"
    path.write_text("apiVersion: example.com/v1\nkind: Widget\n---\n"
                    "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n")
    validated = kubeadmpy("config", "validate", "--config", str(path))
    assert validated.returncode == 0
    assert validated.stdout == "ok\n"
    assert "warning: " in validated.stderr and "ignoring unknown kind 'Widget'" in validated.stderr


def test_validate_a_join_file_checks_join_rules(tmp_path: Path) -> None:
    path = tmp_path / "join.yaml"
    path.write_text("apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n"
                    "discovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n"
                    "    apiServerEndpoint: 10.0.0.10:6443\n")
    validated = kubeadmpy("config", "validate", "--config", str(path))
    assert validated.returncode == 1
    assert "discovery.bootstrapToken.caCertHashes: is empty" in validated.stderr


def test_validate_without_config_says_what_is_missing() -> None:
    validated = kubeadmpy("config", "validate")
    assert validated.returncode == 1
    assert validated.stderr == "error: --config: is required. Give the file to validate\n"


def test_migrate_turns_a_v1beta3_file_into_one_that_validates(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n"
                   "apiServer:\n  timeoutForControlPlane: 8m0s\n  extraArgs:\n    v: '2'\n")
    new = tmp_path / "new.yaml"
    migrated = kubeadmpy("config", "migrate", "--old-config", str(old), "--new-config", str(new))
    assert migrated.returncode == 0, migrated.stderr
    documents = list(yaml.safe_load_all(new.read_text()))
    assert [(d["apiVersion"], d["kind"]) for d in documents] == [
        ("kubeadm.k8s.io/v1beta4", "InitConfiguration"),
        ("kubeadm.k8s.io/v1beta4", "ClusterConfiguration")]
    assert documents[0]["timeouts"] == {"controlPlaneComponentHealthCheck": "8m0s"}
    assert documents[1]["apiServer"] == {"extraArgs": [{"name": "v", "value": "2"}]}
    assert kubeadmpy("config", "validate", "--config", str(new)).stdout == "ok\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "no such file"),
     (": : :\n  - [", "line 1, column 1: not valid YAML"),
     ("apiVersion: kubeadm.k8s.io/v1alpha9\nkind: InitConfiguration\n",
      "'kubeadm.k8s.io/v1alpha9' is not supported for InitConfiguration")],
    ids=["a missing file", "a file that is not YAML", "an unknown apiVersion"],
)
@pytest.mark.parametrize("command", [["migrate", "--old-config"], ["validate", "--config"]],
                         ids=["migrate", "validate"])
def test_a_bad_config_file_is_one_clear_error_and_writes_nothing(
        command: list[str], content: str | None, expected: str, tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    if content is not None:
        old.write_text(content)
    new = tmp_path / "new.yaml"
    extra = ["--new-config", str(new)] if command[0] == "migrate" else []
    result = kubeadmpy("config", *command, str(old), *extra)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert expected in result.stderr
    if content is None:  # the error names the option the path was given with
        assert f"{command[1]}: " in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not new.exists()
