"""Kubelet files: config.yaml with kubeadm's values, kubeadm-flags.env, systemd units."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from kubeadmpy.errors import ConfigError
from kubeadmpy.render import (
    Arg,
    KubeletValues,
    Taint,
    render_containerd_unit,
    render_kubelet,
    render_kubelet_units,
)
from kubeadmpy.render.kubelet import parse_kubelet_flags_env
from kubeadmpy.render.quoting import go_quote, go_unquote
from kubeadmpy.render.units import parse_unit

MakeKubelet = Callable[..., KubeletValues]
CONFIG = PurePosixPath("/var/lib/kubelet/config.yaml")
FLAGS = PurePosixPath("/var/lib/kubelet/kubeadm-flags.env")


def config_of(values: KubeletValues) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(render_kubelet(values)[CONFIG].content)
    return loaded


def flags_of(values: KubeletValues) -> list[str]:
    return parse_kubelet_flags_env(render_kubelet(values)[FLAGS].content)


def test_config_holds_the_values_kubeadm_enforces(make_kubelet: MakeKubelet,
                                                  golden: Callable[[str, str], None]) -> None:
    golden("kubelet/config.yaml", render_kubelet(make_kubelet())[CONFIG].content)
    config = config_of(make_kubelet(service_subnet="10.112.0.0/12", dns_domain="corp.local"))
    assert config["clusterDNS"] == ["10.112.0.10"]
    assert config["clusterDomain"] == "corp.local"
    assert config["authentication"] == {"anonymous": {"enabled": False},
                                        "webhook": {"enabled": True},
                                        "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}}
    assert config["authorization"] == {"mode": "Webhook"}
    assert (config["healthzBindAddress"], config["healthzPort"]) == ("127.0.0.1", 10248)
    assert config["staticPodPath"] == "/etc/kubernetes/manifests"
    assert config["rotateCertificates"] is True


def test_cluster_dns_is_the_tenth_address_of_an_ipv6_service_subnet(
        make_kubelet: MakeKubelet) -> None:
    assert config_of(make_kubelet(service_subnet="fd00:96::/108"))["clusterDNS"] == ["fd00:96::a"]


def test_user_configuration_is_merged_and_differences_are_warned_about(
        make_kubelet: MakeKubelet) -> None:
    user = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "maxPods": 42, "cgroupDriver": "cgroupfs", "clusterDomain": "other.local",
            "rotateCertificates": False, "authentication": {"webhook": {"cacheTTL": "30s"}}}
    rendered = render_kubelet(make_kubelet(user_config=user))[CONFIG]
    config = yaml.safe_load(rendered.content)
    assert config["maxPods"] == 42
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["clusterDomain"] == "other.local"
    assert config["rotateCertificates"] is True
    assert config["authentication"]["webhook"] == {"cacheTTL": "30s", "enabled": True}
    assert len(rendered.warnings) == 1
    assert "clusterDomain" in rendered.warnings[0]
    assert user["rotateCertificates"] is False  # the caller's dict is not modified


def test_a_foreign_kubelet_configuration_kind_is_refused(make_kubelet: MakeKubelet) -> None:
    with pytest.raises(ConfigError) as caught:
        render_kubelet(make_kubelet(user_config={"kind": "KubeProxyConfiguration"}))
    assert caught.value.field == "KubeletConfiguration.kind"


FLAG_CASES = [
    ("node name equal to hostname gives no override", {}, [
        "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock"]),
    ("hostname differing only in case gives no override", {"hostname": "CP-1"}, [
        "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock"]),
    ("node name other than hostname is passed as override", {"hostname": "vm-17"}, [
        "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock",
        "--hostname-override=cp-1"]),
    ("worker taints and node ip from extra args", {
        "register_with_taints": (Taint("dedicated", "NoSchedule", "gpu"),
                                 Taint("spot", "PreferNoSchedule")),
        "kubelet_extra_args": (Arg("node-ip", "10.0.0.21"),),
        "pod_infra_container_image": "registry.k8s.io/pause:3.10",
    }, [
        "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock",
        "--node-ip=10.0.0.21",
        "--pod-infra-container-image=registry.k8s.io/pause:3.10",
        "--register-with-taints=dedicated=gpu:NoSchedule,spot:PreferNoSchedule"]),
    ("extra args replace the runtime endpoint", {
        "kubelet_extra_args": (Arg("container-runtime-endpoint", "unix:///run/c.sock"),)},
     ["--container-runtime-endpoint=unix:///run/c.sock"]),
]


@pytest.mark.parametrize(("changes", "expected"), [case[1:] for case in FLAG_CASES],
                         ids=[case[0] for case in FLAG_CASES])
def test_flags_env_holds_kubeadms_per_node_flags(changes: dict[str, Any], expected: list[str],
                                                 make_kubelet: MakeKubelet) -> None:
    assert flags_of(make_kubelet(**changes)) == expected


def test_flags_env_is_one_go_quoted_line_a_shell_reads_back(make_kubelet: MakeKubelet,
                                                            golden: Callable[[str, str], None],
                                                            ) -> None:
    values = make_kubelet(hostname="vm-17", kubelet_extra_args=(Arg("node-labels", 'a="b"'),))
    content = render_kubelet(values)[FLAGS].content
    golden("kubelet/kubeadm-flags.env", content)
    assert content.count("\n") == 1
    name, _, quoted = content.strip().partition("=")
    assert name == "KUBELET_KUBEADM_ARGS"
    assert shlex.split(quoted)[0].split(" ") == flags_of(values)


def test_a_kubelet_extra_arg_with_blanks_is_refused(make_kubelet: MakeKubelet) -> None:
    with pytest.raises(ConfigError) as caught:
        render_kubelet(make_kubelet(kubelet_extra_args=(Arg("v", "2"), Arg("node-labels", "a b"))))
    assert caught.value.field == "nodeRegistration.kubeletExtraArgs[1].value"


GO_QUOTE_CASES = [  # outputs of Go's fmt.Sprintf("%q", s)
    ("plain", '"plain"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("tab\tnew\nline", '"tab\\tnew\\nline"'),
    ("bell\x07del\x7f", '"bell\\adel\\x7f"'),
    ("ünïcode", '"ünïcode"'),
    ("nbsp\u00a0", '"nbsp\\u00a0"'),
]


@pytest.mark.parametrize(("raw", "quoted"), GO_QUOTE_CASES, ids=[c[0] for c in GO_QUOTE_CASES])
def test_go_quote_matches_gos_percent_q(raw: str, quoted: str) -> None:
    assert go_quote(raw) == quoted
    assert go_unquote(quoted) == raw


def test_kubelet_units_run_the_flavors_kubelet_with_kubeadms_variables(
        make_kubelet: MakeKubelet, golden: Callable[[str, str], None]) -> None:
    python = render_kubelet_units(make_kubelet(flavor="python"))
    upstream = render_kubelet_units(make_kubelet())
    drop_in_path = PurePosixPath("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf")
    golden("systemd/10-kubeadm.conf", python[drop_in_path].content)
    golden("systemd/kubelet.service", python[PurePosixPath("/etc/systemd/system/kubelet.service")]
           .content)
    for files, binary in ((python, "/usr/local/bin/kubeadmpy-kubelet"),
                          (upstream, "/usr/bin/kubelet")):
        service = parse_unit(files[drop_in_path].content)["Service"]
        starts = [value for key, value in service if key == "ExecStart"]
        assert starts[0] == ""  # resets the base unit's command
        assert starts[1].split() == [binary, "$KUBELET_KUBECONFIG_ARGS", "$KUBELET_CONFIG_ARGS",
                                     "$KUBELET_KUBEADM_ARGS", "$KUBELET_EXTRA_ARGS"]
        env_files = [value for key, value in service if key == "EnvironmentFile"]
        assert env_files == ["-/var/lib/kubelet/kubeadm-flags.env", "-/etc/default/kubelet"]
        assert {file.mode for file in files.values()} == {0o644}


def test_systemd_accepts_the_rendered_units_without_complaint(tmp_path: Path,
                                                               make_kubelet: MakeKubelet) -> None:
    units = {**render_kubelet_units(make_kubelet(kubelet_executable="/bin/true")),
             **render_containerd_unit("/usr/bin/containerd")}
    for logical, unit in units.items():
        target = tmp_path / logical.relative_to("/etc/systemd/system")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(unit.content)
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "kubelet.service", "containerd.service"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"})
    complaints = [line for line in verify.stderr.splitlines()
                  if "kubelet" in line or "containerd" in line or "ignoring" in line]
    assert verify.returncode == 0, verify.stderr
    assert complaints == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"node_name": "Node_1"}, "nodeRegistration.name"),
    ({"cri_socket": ""}, "nodeRegistration.criSocket"),
    ({"cgroup_driver": "docker"}, "KubeletConfiguration.cgroupDriver"),
    ({"register_with_taints": (Taint("k", "NoWay"),)}, "nodeRegistration.taints[0].effect"),
    ({"service_subnet": "10.96.0.0/29"}, "networking.serviceSubnet"),
], ids=["node-name-with-capitals", "empty-cri-socket", "unknown-cgroup-driver",
        "unknown-taint-effect", "service-subnet-without-a-tenth-address"])
def test_bad_kubelet_values_are_refused_naming_the_field(changes: dict[str, Any], field: str,
                                                        make_kubelet: MakeKubelet) -> None:
    with pytest.raises(ConfigError) as caught:
        render_kubelet(make_kubelet(**changes))
    assert caught.value.field == field
    assert caught.value.fix
