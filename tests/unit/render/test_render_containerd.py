"""containerd config.toml and unit, and the oom_score_adj detection."""

from __future__ import annotations

import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from kubeadmpy.errors import ConfigError
from kubeadmpy.render import ContainerdValues, render_containerd_config, render_containerd_unit
from kubeadmpy.render.containerd import needs_restrict_oom_score_adj
from kubeadmpy.render.units import parse_unit

CONFIG = PurePosixPath("/etc/containerd/config.toml")


def rendered(**changes: Any) -> str:
    values = ContainerdValues(sandbox_image="kubeadmpy.local/pause:3.10", **changes)
    return render_containerd_config(values)[CONFIG].content


def cri_of(content: str) -> dict[str, Any]:
    cri: dict[str, Any] = tomllib.loads(content)["plugins"]["io.containerd.grpc.v1.cri"]
    return cri


def test_config_is_version_2_with_the_cri_settings_the_kubelet_needs(
        golden: Callable[[str, str], None]) -> None:
    content = rendered()
    golden("containerd/config.toml", content)
    config = tomllib.loads(content)
    cri = cri_of(content)
    assert config["version"] == 2
    assert cri["sandbox_image"] == "kubeadmpy.local/pause:3.10"
    assert cri["containerd"]["runtimes"]["runc"]["runtime_type"] == "io.containerd.runc.v2"
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is True
    assert cri["cni"] == {"bin_dir": "/usr/lib/cni", "conf_dir": "/etc/cni/net.d"}


@pytest.mark.parametrize(("requested", "present"), [(True, True), (False, False)],
                         ids=["requested-is-rendered", "not-requested-is-absent"])
def test_restrict_oom_score_adj_appears_only_when_requested(requested: bool,
                                                            present: bool) -> None:
    content = rendered(restrict_oom_score_adj=requested)
    assert ("restrict_oom_score_adj" in cri_of(content)) is present
    assert ("restrict_oom_score_adj" in content) is present


def test_cgroupfs_driver_turns_systemd_cgroup_off() -> None:
    runc = cri_of(rendered(cgroup_driver="cgroupfs"))["containerd"]["runtimes"]["runc"]
    assert runc["options"]["SystemdCgroup"] is False


def test_relocated_paths_with_odd_characters_parse_back_exactly() -> None:
    root = '/tmp/lab "m1"\\containerd'
    config = tomllib.loads(rendered(root_dir=root, state_dir="/run/m1", grpc_address="/run/m1.s"))
    assert config["root"] == root
    assert config["grpc"]["address"] == "/run/m1.s"


def test_the_installed_containerd_loads_the_rendered_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(rendered(restrict_oom_score_adj=True, root_dir=str(tmp_path / "root")))
    dump = subprocess.run(["containerd", "--config", str(path), "config", "dump"],
                          capture_output=True, text=True, check=False, timeout=60)
    assert dump.returncode == 0, dump.stderr
    cri = cri_of(dump.stdout)
    assert cri["sandbox_image"] == "kubeadmpy.local/pause:3.10"
    assert cri["restrict_oom_score_adj"] is True
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is True


def test_oom_detection_answers_without_changing_this_process() -> None:
    own = Path("/proc/self/oom_score_adj")
    before = own.read_text()
    assert isinstance(needs_restrict_oom_score_adj(), bool)
    assert own.read_text() == before


def test_oom_detection_agrees_with_a_direct_attempt_in_a_child() -> None:
    attempt = subprocess.run(
        ["sh", "-c", 'echo $(( $(cat /proc/self/oom_score_adj) - 1 )) > /proc/self/oom_score_adj'],
        capture_output=True, check=False, timeout=30)
    own_score = int(Path("/proc/self/oom_score_adj").read_text())
    if own_score <= -1000:
        pytest.skip("this process is already at the lowest score")
    assert needs_restrict_oom_score_adj() is (attempt.returncode != 0)


def test_oom_detection_without_the_proc_knob_says_no(tmp_path: Path) -> None:
    assert needs_restrict_oom_score_adj(tmp_path / "missing") is False


def test_containerd_unit_runs_the_given_binary_with_the_config() -> None:
    files = render_containerd_unit()
    unit = files[PurePosixPath("/etc/systemd/system/containerd.service")]
    service = dict(parse_unit(unit.content)["Service"])
    assert service["ExecStart"] == "/usr/bin/containerd --config /etc/containerd/config.toml"
    assert (service["Type"], service["Delegate"], service["KillMode"]) == ("notify", "yes",
                                                                           "process")
    assert unit.mode == 0o644


@pytest.mark.parametrize(("changes", "field"), [
    ({"sandbox_image": " "}, "containerd.sandboxImage"),
    ({"cni_bin_dir": "usr/lib/cni"}, "containerd.cniBinDir"),
    ({"cgroup_driver": "docker"}, "cgroupDriver"),
], ids=["empty-sandbox-image", "relative-cni-bin-dir", "unknown-cgroup-driver"])
def test_bad_containerd_values_are_refused_naming_the_setting(changes: dict[str, Any],
                                                              field: str) -> None:
    values = ContainerdValues(**{"sandbox_image": "kubeadmpy.local/pause:3.10", **changes})
    with pytest.raises(ConfigError) as caught:
        render_containerd_config(values)
    assert caught.value.field == field
