"""Static pod manifests: kubeadm's exact shape for upstream, the same shape for python."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kubeadmpy.errors import ConfigError
from kubeadmpy.render import (
    COMPONENTS,
    Arg,
    ComponentExtras,
    ControlPlaneValues,
    EnvVar,
    EtcdMember,
    ExternalEtcd,
    HostPathMount,
    LocalEtcd,
    RenderError,
    render_control_plane,
    render_etcd,
    render_static_pod,
)

ALL = tuple(COMPONENTS)  # etcd, kube-apiserver, kube-controller-manager, kube-scheduler
MakeValues = Callable[..., ControlPlaneValues]


def pod(component: str, values: ControlPlaneValues) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(render_static_pod(component, values).content)
    return loaded


def command(component: str, values: ControlPlaneValues) -> list[str]:
    container: dict[str, Any] = pod(component, values)["spec"]["containers"][0]
    return list(container["command"])


def volumes(component: str, values: ControlPlaneValues) -> dict[str, dict[str, Any]]:
    return {v["name"]: v["hostPath"] for v in pod(component, values)["spec"]["volumes"]}


@pytest.mark.parametrize("version", ["v1.27.0", "v1.33.0"])
@pytest.mark.parametrize("component", ALL)
def test_upstream_manifests_equal_kubeadms_for_the_version(
        component: str, version: str, make_control_plane: MakeValues,
        golden: Callable[[str, str], None]) -> None:
    values = make_control_plane(kubernetes_version=version)
    golden(f"upstream-{version}/{component}.yaml", render_static_pod(component, values).content)


@pytest.mark.parametrize("component", ALL)
def test_python_manifests_keep_the_pod_shape_with_our_commands_and_image(
        component: str, make_control_plane: MakeValues,
        golden: Callable[[str, str], None]) -> None:
    values = make_control_plane(
        flavor="python",
        extra_host_volumes=(HostPathMount("python-prefix", "/opt/python", "/opt/python", True,
                                          "Directory"),),
    )
    golden(f"python-v1.33.0/{component}.yaml", render_static_pod(component, values).content)


SCHEMA_CASES = {
    "upstream defaults": {},
    "python flavor with host volumes": {
        "flavor": "python",
        "extra_host_volumes": (HostPathMount("py", "/opt/py", "/opt/py", True, "Directory"),),
    },
    "IPv6 with extras and proxy variables": {
        "advertise_address": "fd00::10",
        "service_subnet": "fd00:96::/108",
        "pod_subnet": "fd00:244::/56",
        "proxy_env": (EnvVar("HTTPS_PROXY", "http://proxy:3128"),),
        "api_server": ComponentExtras(
            extra_args=(Arg("audit-log-path", "/var/log/audit.log"),),
            extra_volumes=(HostPathMount("audit", "/var/log", "/var/log", False,
                                         "DirectoryOrCreate"),),
            extra_envs=(EnvVar("GODEBUG", "x509sha1=1"),)),
    },
}


@pytest.mark.parametrize("kube_version", ["1.27", "1.33"])
@pytest.mark.parametrize("case", SCHEMA_CASES, ids=lambda case: case.replace(" ", "-"))
def test_every_manifest_validates_against_the_kubernetes_schema(
        case: str, kube_version: str, make_control_plane: MakeValues) -> None:
    values = make_control_plane(kubernetes_version=f"v{kube_version}.0", **SCHEMA_CASES[case])
    for component in ALL:
        kubernetes_validate.validate(pod(component, values), kube_version, strict=True)


def test_control_plane_files_are_listed_with_logical_paths_and_mode_0600(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane()
    files = {**render_etcd(values), **render_control_plane(values)}
    assert sorted(files) == [PurePosixPath(f"/etc/kubernetes/manifests/{name}.yaml")
                             for name in sorted(ALL)]
    assert {file.mode for file in files.values()} == {0o600}


EXTRA_ARGS_CASES = [
    ("an extra arg replaces the default of that name",
     [Arg("authorization-mode", "RBAC")], ["--authorization-mode=RBAC"], "Node,RBAC"),
    ("a repeated extra arg is kept twice and sorted by value",
     [Arg("tls-sni-cert-key", "/b.crt,/b.key"), Arg("tls-sni-cert-key", "/a.crt,/a.key")],
     ["--tls-sni-cert-key=/a.crt,/a.key", "--tls-sni-cert-key=/b.crt,/b.key"], None),
    ("an extra arg with a new name is added in sorted place",
     [Arg("audit-log-maxage", "7")], ["--audit-log-maxage=7"], None),
    ("authorization-config drops the default authorization mode",
     [Arg("authorization-config", "/etc/kubernetes/authz.yaml")],
     ["--authorization-config=/etc/kubernetes/authz.yaml"], "Node,RBAC"),
]


@pytest.mark.parametrize(("extra", "present", "gone"),
                         [case[1:] for case in EXTRA_ARGS_CASES],
                         ids=[case[0] for case in EXTRA_ARGS_CASES])
def test_extra_args_follow_kubeadms_override_rules(
        extra: list[Arg], present: list[str], gone: str | None,
        make_control_plane: MakeValues) -> None:
    words = command("kube-apiserver",
                    make_control_plane(api_server=ComponentExtras(extra_args=tuple(extra))))
    flags = words[1:]
    assert flags == sorted(flags, key=lambda word: word.partition("=")[::2])
    for word in present:
        assert word in flags
    if gone is not None:
        assert f"--authorization-mode={gone}" not in flags
    assert sum(word.startswith("--authorization-mode=") for word in flags) <= 1


def test_extra_volume_with_a_default_name_replaces_the_default(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(controller_manager=ComponentExtras(extra_volumes=(
        HostPathMount("flexvolume-dir", "/opt/flex", "/usr/libexec/flex", False,
                      "DirectoryOrCreate"),
        HostPathMount("cloud-config", "/etc/cloud.conf", "/etc/cloud.conf", True, "File"),
    )))
    found = volumes("kube-controller-manager", values)
    assert found["flexvolume-dir"] == {"path": "/opt/flex", "type": "DirectoryOrCreate"}
    assert found["cloud-config"] == {"path": "/etc/cloud.conf", "type": "File"}
    mounts = pod("kube-controller-manager", values)["spec"]["containers"][0]["volumeMounts"]
    assert {"mountPath": "/etc/cloud.conf", "name": "cloud-config", "readOnly": True} in mounts
    assert [m["name"] for m in mounts] == sorted(m["name"] for m in mounts)


def test_flex_volume_dir_follows_the_controller_manager_flag(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(controller_manager=ComponentExtras(
        extra_args=(Arg("flex-volume-plugin-dir", "/var/lib/flex"),)))
    assert volumes("kube-controller-manager", values)["flexvolume-dir"]["path"] == "/var/lib/flex"


def test_ipv6_advertise_address_uses_bracketed_loopback_etcd_endpoints(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(advertise_address="fd00::10", service_subnet="fd00:96::/108")
    assert "--etcd-servers=https://[::1]:2379" in command("kube-apiserver", values)
    etcd = command("etcd", values)
    assert "--listen-client-urls=https://[::1]:2379,https://[fd00::10]:2379" in etcd
    assert "--listen-metrics-urls=http://[::1]:2381" in etcd
    assert "--advertise-client-urls=https://[fd00::10]:2379" in etcd
    etcd_pod = pod("etcd", values)
    assert etcd_pod["spec"]["containers"][0]["livenessProbe"]["httpGet"]["host"] == "::1"
    annotations = pod("kube-apiserver", values)["metadata"]["annotations"]
    assert annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] == \
        "[fd00::10]:6443"


def test_local_etcd_advertise_url_override_moves_the_apiserver_too(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(etcd=LocalEtcd(extras=ComponentExtras(
        extra_args=(Arg("advertise-client-urls", "https://10.0.0.10:2379"),))))
    assert "--etcd-servers=https://10.0.0.10:2379" in command("kube-apiserver", values)


def test_external_etcd_gets_endpoints_client_files_and_their_folders(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(etcd=ExternalEtcd(
        endpoints=("https://10.0.0.20:2379", "https://10.0.0.21:2379"),
        ca_file="/etc/etcd/pki/ca.crt", cert_file="/etc/etcd/pki/client.crt",
        key_file="/etc/etcd/pki/client.key"))
    words = command("kube-apiserver", values)
    assert "--etcd-servers=https://10.0.0.20:2379,https://10.0.0.21:2379" in words
    assert "--etcd-cafile=/etc/etcd/pki/ca.crt" in words
    assert volumes("kube-apiserver", values)["etcd-certs-0"]["path"] == "/etc/etcd/pki"
    assert render_etcd(values) == {}


def test_joining_control_plane_lists_existing_members_and_joins_existing_cluster(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(node_name="cp-2", advertise_address="10.0.0.11", etcd=LocalEtcd(
        join_members=(EtcdMember("cp-1", "https://10.0.0.10:2380"),)))
    words = command("etcd", values)
    assert "--initial-cluster=cp-1=https://10.0.0.10:2380,cp-2=https://10.0.0.11:2380" in words
    assert "--initial-cluster-state=existing" in words


def test_without_pod_subnet_the_controller_manager_allocates_no_node_cidrs(
        make_control_plane: MakeValues) -> None:
    words = command("kube-controller-manager", make_control_plane(pod_subnet=""))
    assert not [w for w in words if w.startswith(("--allocate-node-cidrs", "--cluster-cidr"))]


def test_startup_probe_budget_follows_the_health_check_timeout(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(health_check_timeout_seconds=95)
    probe = pod("kube-scheduler", values)["spec"]["containers"][0]["startupProbe"]
    assert probe["failureThreshold"] == 10


def test_feature_gates_reach_the_three_components_but_not_etcd(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(feature_gates=(("SidecarContainers", True), ("Foo", False)))
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert "--feature-gates=Foo=false,SidecarContainers=true" in command(component, values)
    assert not [w for w in command("etcd", values) if w.startswith("--feature-gates")]


def test_python_flavor_etcd_probes_use_the_endpoints_of_debians_etcd(
        make_control_plane: MakeValues) -> None:
    container = pod("etcd", make_control_plane(flavor="python"))["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"].startswith("/health")
    assert container["startupProbe"]["httpGet"]["path"].startswith("/health")
    assert "readinessProbe" not in container


def test_every_python_flavor_etcd_flag_exists_in_the_installed_etcd(
        make_control_plane: MakeValues) -> None:
    help_text = subprocess.run(["etcd", "--help"], capture_output=True, text=True,
                               check=False, timeout=30)
    known = set(help_text.stdout.split()) | set(help_text.stderr.split())
    values = make_control_plane(flavor="python", etcd=LocalEtcd(
        join_members=(EtcdMember("cp-0", "https://10.0.0.9:2380"),)))
    flags = {word.partition("=")[0] for word in command("etcd", values)[1:]}
    assert flags - known == set()


def test_proxy_variables_are_passed_and_extra_envs_override_them(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(
        proxy_env=(EnvVar("NO_PROXY", "10.0.0.0/8"), EnvVar("HTTP_PROXY", "http://p:1")),
        scheduler=ComponentExtras(extra_envs=(EnvVar("HTTP_PROXY", "http://q:2"),)))
    env = pod("kube-scheduler", values)["spec"]["containers"][0]["env"]
    assert env == [{"name": "HTTP_PROXY", "value": "http://q:2"},
                   {"name": "NO_PROXY", "value": "10.0.0.0/8"}]


def test_values_that_need_yaml_quoting_survive_the_round_trip(
        make_control_plane: MakeValues) -> None:
    tricky = ["true", "null", "a: b", "# not a comment", "*alias", "'quoted'", '"dq"', "é ü",
              "{x}", "1e3", ""]
    extra = tuple(Arg("tricky", value) for value in tricky)
    values = make_control_plane(scheduler=ComponentExtras(
        extra_args=extra, extra_envs=(EnvVar("ODD", "yes\nno"),)))
    assert [w for w in command("kube-scheduler", values) if w.startswith("--tricky=")] == sorted(
        f"--tricky={value}" for value in tricky)
    env = pod("kube-scheduler", values)["spec"]["containers"][0]["env"]
    assert env == [{"name": "ODD", "value": "yes\nno"}]


BAD_INPUTS = [
    ("advertise address is not an IP", {"advertise_address": "cp-1.example"},
     "localAPIEndpoint.advertiseAddress"),
    ("version outside the supported range", {"kubernetes_version": "v1.26.3"},
     "kubernetesVersion"),
    ("version is not a version", {"kubernetes_version": "latest"}, "kubernetesVersion"),
    ("service subnet is not a CIDR", {"service_subnet": "10.96.0.0/33"},
     "networking.serviceSubnet[0]"),
    ("node name has capitals", {"node_name": "CP_1"}, "nodeRegistration.name"),
    ("extra arg written with dashes",
     {"api_server": ComponentExtras(extra_args=(Arg("--v", "4"),))},
     "apiServer.extraArgs[0].name"),
    ("extra volume name is not a DNS label",
     {"scheduler": ComponentExtras(extra_volumes=(HostPathMount("My Vol", "/a", "/a"),))},
     "scheduler.extraVolumes[0].name"),
    ("extra volume host path is relative",
     {"scheduler": ComponentExtras(extra_volumes=(HostPathMount("v", "a", "/a"),))},
     "scheduler.extraVolumes[0].hostPath"),
]


@pytest.mark.parametrize(("changes", "field"), [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_values_are_refused_naming_the_field(
        changes: dict[str, Any], field: str, make_control_plane: MakeValues) -> None:
    with pytest.raises(ConfigError) as caught:
        render_static_pod("kube-apiserver", make_control_plane(**changes))
    assert caught.value.field == field
    assert caught.value.fix


def test_python_flavor_apiserver_command_is_accepted_by_kubeadmpy_apiserver(
        make_control_plane: MakeValues) -> None:
    settings = pytest.importorskip("kubeadmpy.apiserver.settings")
    values = make_control_plane(flavor="python")
    words = command("kube-apiserver", values)
    assert words[0] == "kubeadmpy-apiserver"
    parsed = settings.parse_settings(words[1:])
    assert parsed.etcd_servers == ("https://127.0.0.1:2379",)
    assert parsed.secure_port == values.bind_port


def test_a_member_list_that_names_this_node_is_used_as_given(
        make_control_plane: MakeValues) -> None:
    members = (EtcdMember("cp-2", "https://10.0.0.11:2380"),
               EtcdMember("cp-1", "https://10.0.0.10:2380"))
    values = make_control_plane(node_name="cp-2", advertise_address="10.0.0.11",
                                etcd=LocalEtcd(join_members=members))
    assert "--initial-cluster=cp-2=https://10.0.0.11:2380,cp-1=https://10.0.0.10:2380" in \
        command("etcd", values)


def test_etcd_mounts_data_before_certs_as_kubeadm_lists_them(
        make_control_plane: MakeValues) -> None:
    container = pod("etcd", make_control_plane())["spec"]["containers"][0]
    assert [m["name"] for m in container["volumeMounts"]] == ["etcd-data", "etcd-certs"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"flavor": "python", "python_image": ""}, "pythonImage"),
    ({"image_repository": " "}, "imageRepository"),
], ids=["python-flavor-without-an-image", "upstream-flavor-without-a-repository"])
def test_missing_images_are_refused_naming_the_field(changes: dict[str, Any], field: str,
                                                     make_control_plane: MakeValues) -> None:
    with pytest.raises(ConfigError) as caught:
        render_control_plane(make_control_plane(**changes))
    assert caught.value.field == field


def test_asking_for_an_etcd_pod_with_external_etcd_is_a_clear_error(
        make_control_plane: MakeValues) -> None:
    values = make_control_plane(etcd=ExternalEtcd(endpoints=("https://10.0.0.20:2379",)))
    with pytest.raises(RenderError, match="external etcd"):
        render_static_pod("etcd", values)
