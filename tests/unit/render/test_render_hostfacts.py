"""Host facts kubeadm reads while rendering, and how they shape the pods."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from kubeadmpy.paths import HostPaths
from kubeadmpy.render import (
    ComponentExtras,
    ControlPlaneValues,
    EnvVar,
    ExternalEtcd,
    HostPathMount,
    present_ca_cert_dirs,
    proxy_env,
    render_static_pod,
)

MakeValues = Callable[..., ControlPlaneValues]


def volumes(component: str, values: ControlPlaneValues) -> dict[str, dict[str, Any]]:
    pod = yaml.safe_load(render_static_pod(component, values).content)
    return {v["name"]: v["hostPath"] for v in pod["spec"]["volumes"]}


def test_only_non_empty_proxy_variables_of_either_case_are_taken() -> None:
    environ = {"HTTPS_PROXY": "http://p:3128", "no_proxy": "10.0.0.0/8", "FTP_PROXY": "",
               "PROXY": "x", "PATH": "/usr/bin"}
    assert proxy_env(environ) == (EnvVar("HTTPS_PROXY", "http://p:3128"),
                                  EnvVar("no_proxy", "10.0.0.0/8"))


def test_ca_folders_present_under_the_root_are_found(tmp_path: Path) -> None:
    (tmp_path / "etc/ca-certificates").mkdir(parents=True)
    (tmp_path / "usr/share/ca-certificates").mkdir(parents=True)
    (tmp_path / "etc/pki").mkdir(parents=True)  # only its subfolders count
    found = present_ca_cert_dirs(HostPaths(tmp_path))
    assert found == ("/etc/ca-certificates", "/usr/share/ca-certificates")


def test_present_ca_folders_are_mounted_into_apiserver_and_controller_manager_only(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(ca_cert_dirs=("/etc/ca-certificates",))
    for component in ("kube-apiserver", "kube-controller-manager"):
        assert volumes(component, values)["etc-ca-certificates"] == {
            "path": "/etc/ca-certificates", "type": "DirectoryOrCreate"}
    assert "etc-ca-certificates" not in volumes("kube-scheduler", values)


def test_external_etcd_files_under_a_ca_folder_need_no_extra_mount(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(etcd=ExternalEtcd(
        endpoints=("https://10.0.0.20:2379",), ca_file="/etc/pki/tls/certs/etcd-ca.crt",
        cert_file="/etc/kubernetes/pki/etcd-client.crt", key_file="/srv/etcd/a/client.key"))
    found = {name: v["path"] for name, v in volumes("kube-apiserver", values).items()
             if name.startswith("etcd-certs")}
    assert found == {"etcd-certs-0": "/srv/etcd/a"}


def test_an_extra_volume_without_a_type_is_written_with_an_empty_type_as_kubeadm_does(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(scheduler=ComponentExtras(
        extra_volumes=(HostPathMount("policy", "/etc/policy", "/etc/policy", True),)))
    assert volumes("kube-scheduler", values)["policy"] == {"path": "/etc/policy", "type": ""}
