from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from kubeadmpy.config import (
    InitBundle,
    JoinFlags,
    load_init_config,
    load_join_config,
    load_reset_config,
    v1beta4,
)
from kubeadmpy.config.defaults import resolve_kubernetes_version
from kubeadmpy.config.netutil import NodeFacts

CONTROL_PLANE_TAINT = v1beta4.Taint(key="node-role.kubernetes.io/control-plane",
                                    effect="NoSchedule")

INIT_DEFAULTS: list[tuple[str, Callable[[InitBundle], Any], Any]] = [
    ("service subnet", lambda b: b.cluster.networking.service_subnet, "10.96.0.0/12"),
    ("no pod subnet", lambda b: b.cluster.networking.pod_subnet, ""),
    ("DNS domain", lambda b: b.cluster.networking.dns_domain, "cluster.local"),
    ("certificates dir", lambda b: b.cluster.certificates_dir, "/etc/kubernetes/pki"),
    ("cluster name", lambda b: b.cluster.cluster_name, "kubernetes"),
    ("image repository", lambda b: b.cluster.image_repository, "registry.k8s.io"),
    ("stacked etcd data dir", lambda b: b.cluster.etcd.local.data_dir, "/var/lib/etcd"),
    ("no external etcd", lambda b: b.cluster.etcd.external, None),
    ("pinned Kubernetes version", lambda b: b.cluster.kubernetes_version, "v1.33.1"),
    ("ECDSA P-256 keys", lambda b: b.cluster.encryption_algorithm, "ECDSA-P256"),
    ("one-year leaf certificates", lambda b: b.cluster.certificate_validity_period,
     timedelta(hours=8760)),
    ("ten-year CAs", lambda b: b.cluster.ca_certificate_validity_period, timedelta(hours=87600)),
    ("bind port", lambda b: b.init.local_api_endpoint.bind_port, 6443),
    ("advertise address from the node", lambda b: b.init.local_api_endpoint.advertise_address,
     "10.0.0.10"),
    ("node name is the lower-cased hostname", lambda b: b.init.node_registration.name, "node-1"),
    ("containerd socket", lambda b: b.init.node_registration.cri_socket,
     "unix:///var/run/containerd/containerd.sock"),
    ("control-plane taint", lambda b: b.init.node_registration.taints, [CONTROL_PLANE_TAINT]),
    ("image pull policy", lambda b: b.init.node_registration.image_pull_policy, "IfNotPresent"),
    ("serial image pulls", lambda b: b.init.node_registration.image_pull_serial, True),
    ("one bootstrap token", lambda b: len(b.init.bootstrap_tokens), 1),
    ("token ttl", lambda b: b.init.bootstrap_tokens[0].ttl, timedelta(hours=24)),
    ("token usages", lambda b: b.init.bootstrap_tokens[0].usages, ["signing", "authentication"]),
    ("token groups", lambda b: b.init.bootstrap_tokens[0].groups,
     ["system:bootstrappers:kubeadm:default-node-token"]),
    ("control-plane health timeout", lambda b: b.init.timeouts.control_plane_component_health_check,
     timedelta(minutes=4)),
    ("API call timeout", lambda b: b.init.timeouts.kubernetes_api_call, timedelta(minutes=1)),
    ("etcd API call timeout", lambda b: b.init.timeouts.etcd_api_call, timedelta(minutes=2)),
    ("TLS bootstrap timeout", lambda b: b.init.timeouts.tls_bootstrap, timedelta(minutes=5)),
    ("Python control plane", lambda b: b.kubeadmpy.control_plane_flavor, "python"),
    ("flannel", lambda b: b.kubeadmpy.network.plugin, "flannel"),
    ("VXLAN backend", lambda b: b.kubeadmpy.network.flannel.backend, "vxlan"),
    ("VNI 1", lambda b: b.kubeadmpy.network.flannel.vni, 1),
    ("VXLAN port 8472", lambda b: b.kubeadmpy.network.flannel.port, 8472),
    ("MTU derived at run time", lambda b: b.kubeadmpy.network.flannel.mtu, None),
    ("hostpath CSI", lambda b: b.kubeadmpy.storage.csi_plugin, "hostpath"),
    ("secrets not encrypted", lambda b: b.kubeadmpy.secrets_encryption.enabled, False),
    ("no component configs", lambda b: (b.kubelet, b.kube_proxy), (None, None)),
    ("no warnings", lambda b: b.warnings, []),
]


@pytest.fixture(scope="module")
def defaulted(facts: NodeFacts) -> InitBundle:
    return load_init_config(None, facts=facts)


@pytest.mark.parametrize(("name", "get", "expected"), INIT_DEFAULTS,
                         ids=[row[0] for row in INIT_DEFAULTS])
def test_init_without_config_gets_kubeadm_defaults(
    defaulted: InitBundle, name: str, get: Callable[[InitBundle], Any], expected: Any
) -> None:
    assert get(defaulted) == expected


def test_a_random_token_is_generated_each_time(facts: NodeFacts) -> None:
    first = load_init_config(None, facts=facts).init.bootstrap_tokens[0].token
    second = load_init_config(None, facts=facts).init.bootstrap_tokens[0].token
    assert re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", first)
    assert first != second


def test_empty_taints_stay_empty_on_a_control_plane(
    write_config: Callable[[str], Any], facts: NodeFacts
) -> None:
    path = write_config("""
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: InitConfiguration
        nodeRegistration:
          taints: []
    """)
    assert load_init_config(path, facts=facts).init.node_registration.taints == []


@pytest.mark.parametrize(
    ("label", "expected"),
    [("stable-1", "v1.33.1"), ("stable", "v1.33.1"), ("latest-1.33", "v1.33.1"),
     ("1.32.4", "v1.32.4"), ("v1.31.0", "v1.31.0"), ("stable-1.29", "stable-1.29")],
)
def test_version_labels_resolve_offline_to_the_pinned_release(label: str, expected: str) -> None:
    assert resolve_kubernetes_version(label) == expected


def test_worker_join_gets_no_taints_and_tls_token_from_discovery_token(facts: NodeFacts) -> None:
    join = load_join_config(None, JoinFlags(api_server_endpoint="10.0.0.10:6443",
                                            token="abcdef.0123456789abcdef",
                                            discovery_token_unsafe_skip_ca_verification=True),
                            facts=facts).join
    assert join.node_registration.taints == []
    assert join.control_plane is None
    assert join.ca_cert_path == "/etc/kubernetes/pki/ca.crt"
    assert join.discovery.tls_bootstrap_token == "abcdef.0123456789abcdef"
    assert join.timeouts is not None and join.timeouts.discovery == timedelta(minutes=5)


def test_control_plane_join_gets_the_taint_and_a_local_endpoint(facts: NodeFacts) -> None:
    join = load_join_config(None, JoinFlags(api_server_endpoint="cp.example.com:6443",
                                            token="abcdef.0123456789abcdef",
                                            discovery_token_ca_cert_hash=["sha256:" + "a" * 64],
                                            control_plane=True), facts=facts).join
    assert join.node_registration.taints == [CONTROL_PLANE_TAINT]
    assert join.control_plane is not None
    assert join.control_plane.local_api_endpoint == v1beta4.APIEndpoint(
        advertise_address="10.0.0.10", bind_port=6443)


def test_reset_defaults() -> None:
    reset = load_reset_config(None).reset
    assert (reset.certificates_dir, reset.cri_socket, reset.force) == (
        "/etc/kubernetes/pki", "unix:///var/run/containerd/containerd.sock", False)
