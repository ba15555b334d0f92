from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from kubeadmpy.config import (
    ConfigProblemsError,
    InitFlags,
    JoinFlags,
    ResetFlags,
    api_server_url_for,
    cluster_configuration_from_yaml,
    cluster_configuration_yaml,
    control_plane_endpoint,
    dump_documents,
    init_defaults,
    join_defaults,
    load_init_config,
    load_join_config,
    load_reset_config,
    local_api_server_url,
    reset_defaults,
    v1beta4,
)
from kubeadmpy.config.netutil import NodeFacts
from kubeadmpy.errors import ConfigError

WriteConfig = Callable[[str], Path]

FULL_CONFIG = """
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
  description: first token
  ttl: 2h
  expires: "2030-01-02T03:04:05Z"
  usages: [authentication]
  groups: [system:bootstrappers:extra]
dryRun: true
nodeRegistration:
  name: cp-1
  criSocket: unix:///run/containerd/containerd.sock
  taints:
  - {key: dedicated, value: cp, effect: NoExecute}
  kubeletExtraArgs:
  - {name: node-ip, value: 10.0.0.11}
  - {name: v, value: "4"}
  ignorePreflightErrors: [Swap, NumCPU]
  imagePullPolicy: Never
  imagePullSerial: false
localAPIEndpoint: {advertiseAddress: 10.0.0.11, bindPort: 8443}
certificateKey: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
skipPhases: [addon/kube-proxy]
patches: {directory: /etc/kubeadmpy/patches}
timeouts: {controlPlaneComponentHealthCheck: 10m, discovery: 1m30s}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
etcd:
  local:
    imageRepository: registry.example/etcd
    imageTag: 3.5.21-0
    dataDir: /data/etcd
    extraArgs: [{name: snapshot-count, value: "5000"}]
    extraEnvs: [{name: GOMAXPROCS, value: "2"}]
    serverCertSANs: [etcd.example.com]
    peerCertSANs: [10.0.0.12]
networking: {serviceSubnet: 10.112.0.0/16, podSubnet: "10.244.0.0/16,fd00:10:244::/56",
             dnsDomain: corp.local}
kubernetesVersion: v1.33.1
controlPlaneEndpoint: cp.example.com:8443
apiServer:
  certSANs: [cp.example.com, "*.apps.example.com", 10.0.0.100]
  extraArgs: [{name: audit-log-maxage, value: "7"}, {name: audit-log-maxage, value: "8"}]
  extraVolumes:
  - {name: audit, hostPath: /var/log/audit, mountPath: /var/log/audit, readOnly: true,
     pathType: DirectoryOrCreate}
  extraEnvs:
  - name: POD_IP
    valueFrom: {fieldRef: {fieldPath: status.podIP}}
controllerManager: {extraArgs: [{name: node-cidr-mask-size, value: "25"}]}
scheduler: {extraArgs: [{name: v, value: "3"}]}
dns: {imageRepository: registry.example, imageTag: v1.11.3, disabled: true}
proxy: {disabled: true}
certificatesDir: /etc/kubernetes/pki
imageRepository: registry.example
featureGates: {WaitForAllControlPlaneComponents: true}
clusterName: prod
encryptionAlgorithm: RSA-3072
certificateValidityPeriod: 4380h
caCertificateValidityPeriod: 43800h
---
apiVersion: kubeadmpy.io/v1alpha1
kind: KubeadmpyConfiguration
controlPlaneFlavor: upstream
network: {plugin: flannel, flannel: {backend: vxlan, vni: 4096, port: 4789, mtu: 1400}}
storage: {csiPlugin: none}
secretsEncryption: {enabled: true}
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
maxPods: 50
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
"""


def test_every_field_survives_load_print_load(write_config: WriteConfig) -> None:
    first = load_init_config(write_config(FULL_CONFIG))
    printed = dump_documents([first.init, first.cluster, first.kubeadmpy, first.kubelet,
                              first.kube_proxy])
    second = load_init_config(write_config(printed))
    assert (second.init, second.cluster, second.kubeadmpy) == (
        first.init, first.cluster, first.kubeadmpy)
    assert (second.kubelet, second.kube_proxy) == (first.kubelet, first.kube_proxy)
    token = first.init.bootstrap_tokens[0]
    assert token.expires == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert token.ttl == timedelta(hours=2)
    assert first.cluster.api_server.extra_args[1] == v1beta4.Arg(name="audit-log-maxage",
                                                                 value="8")
    assert first.cluster.api_server.extra_envs[0].value_from == {
        "fieldRef": {"fieldPath": "status.podIP"}}
    assert first.kubeadmpy.network.flannel.mtu == 1400
    assert first.kubelet == {"apiVersion": "kubelet.config.k8s.io/v1beta1",
                             "kind": "KubeletConfiguration", "maxPods": 50}
    assert first.warnings == []


@pytest.mark.parametrize("printer", [init_defaults, join_defaults, reset_defaults],
                         ids=["init-defaults", "join-defaults", "reset-defaults"])
def test_printed_defaults_load_back_unchanged(printer: Callable[..., list[object]],
                                             write_config: WriteConfig) -> None:
    path = write_config(dump_documents(printer()))
    if printer is init_defaults:
        bundle = load_init_config(path)
        objects: list[object] = [bundle.init, bundle.cluster, bundle.kubeadmpy]
        assert bundle.init.local_api_endpoint.advertise_address == "1.2.3.4"
        assert bundle.init.bootstrap_tokens[0].token == "abcdef.0123456789abcdef"
        assert bundle.init.node_registration.name == "node"
    elif printer is join_defaults:
        join = load_join_config(path)
        objects = [join.join, join.kubeadmpy]
        assert join.join.discovery.bootstrap_token is not None
        assert join.join.discovery.bootstrap_token.api_server_endpoint == "kube-apiserver:6443"
    else:
        objects = [load_reset_config(path).reset]
    reloaded = write_config(dump_documents(objects))
    again = {
        init_defaults: lambda: (lambda b: [b.init, b.cluster, b.kubeadmpy])(
            load_init_config(reloaded)),
        join_defaults: lambda: (lambda b: [b.join, b.kubeadmpy])(load_join_config(reloaded)),
        reset_defaults: lambda: [load_reset_config(reloaded).reset],
    }[printer]()
    assert again == objects


def test_printed_component_configs_load_as_raw_documents(write_config: WriteConfig) -> None:
    text = dump_documents(init_defaults(["KubeletConfiguration", "KubeProxyConfiguration"]))
    bundle = load_init_config(write_config(text))
    assert bundle.kubelet is not None and bundle.kubelet["clusterDNS"] == ["10.96.0.10"]
    assert bundle.kube_proxy is not None and bundle.kube_proxy["bindAddress"] == "0.0.0.0"


def test_cluster_configuration_yaml_is_one_document_without_tokens(facts: NodeFacts) -> None:
    bundle = load_init_config(None, InitFlags(pod_network_cidr="10.244.0.0/16"), facts=facts)
    document = yaml.safe_load(cluster_configuration_yaml(bundle.cluster))
    assert document["kind"] == "ClusterConfiguration"
    assert document["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert document["networking"]["podSubnet"] == "10.244.0.0/16"
    assert "bootstrapTokens" not in document
    assert cluster_configuration_from_yaml(cluster_configuration_yaml(bundle.cluster)) == \
        bundle.cluster


def test_a_stored_cluster_configuration_with_a_typo_names_the_configmap() -> None:
    with pytest.raises(ConfigError) as caught:
        cluster_configuration_from_yaml("apiVersion: kubeadm.k8s.io/v1beta4\n"
                                        "kind: ClusterConfiguration\nclustername: x\n")
    assert str(caught.value) == (
        "ConfigMap kube-system/kubeadm-config, document 1 (ClusterConfiguration): clustername: "
        'unknown field. Did you mean "clusterName"?')


FLAG_OVERRIDES = [
    (InitFlags(pod_network_cidr="10.244.0.0/16"), lambda b: b.cluster.networking.pod_subnet,
     "10.244.0.0/16"),
    (InitFlags(service_cidr="10.100.0.0/16"), lambda b: b.cluster.networking.service_subnet,
     "10.100.0.0/16"),
    (InitFlags(service_dns_domain="corp.local"), lambda b: b.cluster.networking.dns_domain,
     "corp.local"),
    (InitFlags(apiserver_advertise_address="10.0.0.20"),
     lambda b: b.init.local_api_endpoint.advertise_address, "10.0.0.20"),
    (InitFlags(apiserver_bind_port=8443), lambda b: b.init.local_api_endpoint.bind_port, 8443),
    (InitFlags(apiserver_cert_extra_sans=["cp.example.com"]),
     lambda b: b.cluster.api_server.cert_sans, ["cp.example.com"]),
    (InitFlags(cert_dir="/srv/pki"), lambda b: b.cluster.certificates_dir, "/srv/pki"),
    (InitFlags(control_plane_endpoint="cp.example.com"),
     lambda b: b.cluster.control_plane_endpoint, "cp.example.com"),
    (InitFlags(node_name="worker-7"), lambda b: b.init.node_registration.name, "worker-7"),
    (InitFlags(kubernetes_version="stable-1"), lambda b: b.cluster.kubernetes_version,
     "v1.33.1"),
    (InitFlags(image_repository="registry.example"), lambda b: b.cluster.image_repository,
     "registry.example"),
    (InitFlags(cri_socket="unix:///run/crio.sock"), lambda b: b.init.node_registration.cri_socket,
     "unix:///run/crio.sock"),
    (InitFlags(token="abcdef.0123456789abcdef"), lambda b: b.init.bootstrap_tokens[0].token,
     "abcdef.0123456789abcdef"),
    (InitFlags(token_ttl="0"), lambda b: b.init.bootstrap_tokens[0].ttl, timedelta(0)),
    (InitFlags(feature_gates="WaitForAllControlPlaneComponents=true"),
     lambda b: b.cluster.feature_gates, {"WaitForAllControlPlaneComponents": True}),
    (InitFlags(upload_certs=True), lambda b: b.upload_certs, True),
    (InitFlags(skip_phases=["addon/kube-proxy"]), lambda b: b.init.skip_phases,
     ["addon/kube-proxy"]),
    (InitFlags(ignore_preflight_errors=["Swap"]),
     lambda b: b.init.node_registration.ignore_preflight_errors, ["Swap"]),
    (InitFlags(dry_run=True), lambda b: b.init.dry_run, True),
]


@pytest.mark.parametrize(("flags", "get", "expected"), FLAG_OVERRIDES,
                         ids=["--" + next(k for k, v in vars(f).items() if v is not None)
                              .replace("_", "-") for f, _, _ in FLAG_OVERRIDES])
def test_init_flag_sets_its_config_field(facts: NodeFacts, flags: InitFlags,
                                         get: Callable[..., object], expected: object) -> None:
    assert get(load_init_config(None, flags, facts=facts)) == expected


ALLOWED_WITH_CONFIG = """
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
skipPhases: [preflight]
nodeRegistration: {ignorePreflightErrors: [Swap]}
"""


def test_allowed_flags_merge_with_the_config_file(write_config: WriteConfig,
                                                  facts: NodeFacts) -> None:
    flags = InitFlags(ignore_preflight_errors=["NumCPU"], skip_phases=["addon"], dry_run=True,
                      upload_certs=True, certificate_key="ab" * 32, node_name="cp-9")
    bundle = load_init_config(write_config(ALLOWED_WITH_CONFIG), flags, facts=facts)
    assert bundle.init.node_registration.ignore_preflight_errors == ["Swap", "NumCPU"]
    assert bundle.init.skip_phases == ["addon"]  # the flag wins, as in kubeadm
    assert (bundle.init.dry_run, bundle.upload_certs) == (True, True)
    assert bundle.init.certificate_key == "ab" * 32
    assert bundle.init.node_registration.name == "cp-9"


def test_join_flags_build_token_discovery(facts: NodeFacts) -> None:
    pin = "sha256:" + "0f" * 32
    join = load_join_config(None, JoinFlags(api_server_endpoint="10.0.0.10:6443",
                                            token="abcdef.0123456789abcdef",
                                            discovery_token_ca_cert_hash=[pin],
                                            node_name="worker-1"), facts=facts).join
    assert join.discovery.bootstrap_token == v1beta4.BootstrapTokenDiscovery(
        token="abcdef.0123456789abcdef", api_server_endpoint="10.0.0.10:6443",
        ca_cert_hashes=[pin])
    assert join.node_registration.name == "worker-1"


def test_control_plane_only_join_flags_on_a_worker_are_ignored_with_a_warning(
    facts: NodeFacts,
) -> None:
    bundle = load_join_config(None, JoinFlags(discovery_file="/etc/kubernetes/discovery.conf",
                                              tls_bootstrap_token="abcdef.0123456789abcdef",
                                              certificate_key="ab" * 32), facts=facts)
    assert bundle.join.control_plane is None
    assert bundle.join.discovery.file == v1beta4.FileDiscovery(
        kube_config_path="/etc/kubernetes/discovery.conf")
    assert bundle.warnings == ["--certificate-key only apply with --control-plane; ignored"]


def test_reset_flags_override(write_config: WriteConfig) -> None:
    path = write_config("""
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: ResetConfiguration
        ignorePreflightErrors: [IsPrivilegedUser]
    """)
    reset = load_reset_config(path, ResetFlags(force=True, dry_run=True)).reset
    assert (reset.force, reset.dry_run, reset.ignore_preflight_errors) == (
        True, True, ["IsPrivilegedUser"])


def test_unknown_kinds_and_other_commands_kinds_are_warnings(write_config: WriteConfig,
                                                             facts: NodeFacts) -> None:
    path = write_config("""
        apiVersion: example.com/v1
        kind: Widget
        ---
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: JoinConfiguration
        ---
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: UpgradeConfiguration
        apply: {forceUpgrade: true}
    """)
    warnings = load_init_config(path, facts=facts).warnings
    assert warnings == [
        f"{path}, document 1: ignoring unknown kind 'Widget' (apiVersion 'example.com/v1')",
        f"{path}, document 2 (JoinConfiguration): not used by init; ignored",
    ]


def test_a_file_without_a_join_configuration_cannot_configure_join(
    write_config: WriteConfig,
) -> None:
    path = write_config(dump_documents(init_defaults()))
    with pytest.raises(ConfigError, match="no JoinConfiguration document found"):
        load_join_config(path)


ENDPOINTS = [
    ("", "https://10.0.0.10:6443"),
    ("cp.example.com", "https://cp.example.com:6443"),
    ("cp.example.com:8443", "https://cp.example.com:8443"),
    ("[fd00::10]:7443", "https://[fd00::10]:7443"),
]


@pytest.mark.parametrize(("configured", "url"), ENDPOINTS,
                         ids=["advertise address", "endpoint host", "endpoint host and port",
                              "IPv6 endpoint"])
def test_api_server_url_prefers_the_control_plane_endpoint(
    facts: NodeFacts, configured: str, url: str
) -> None:
    bundle = load_init_config(None, InitFlags(control_plane_endpoint=configured or None),
                              facts=facts)
    assert api_server_url_for(bundle.cluster, bundle.init) == url
    assert control_plane_endpoint(bundle.cluster, bundle.init.local_api_endpoint)[1] == int(
        url.rsplit(":", 1)[1])
    assert local_api_server_url(bundle.init) == "https://10.0.0.10:6443"


def test_problems_across_documents_are_reported_together(write_config: WriteConfig) -> None:
    path = write_config("""
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: InitConfiguration
        localAPIEndpoint: {advertiseAddress: 10.0.0.1, bindPort: 70000}
        ---
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: ClusterConfiguration
        networking: {podSubnet: 10.244.0.0/33}
    """)
    with pytest.raises(ConfigProblemsError) as caught:
        load_init_config(path)
    assert [where for where, _ in caught.value.problems] == [
        f"{path}, document 1 (InitConfiguration)", f"{path}, document 2 (ClusterConfiguration)"]
    assert str(caught.value).startswith("2 problems in the configuration:")
