from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from kubeadmpy.config import load_init_config, load_join_config, v1beta4
from kubeadmpy.config.netutil import NodeFacts
from kubeadmpy.errors import ConfigError

V1BETA3_INIT = """
apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
nodeRegistration:
  kubeletExtraArgs: {node-ip: 10.0.0.10, v: "2"}
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
apiServer:
  timeoutForControlPlane: 10m0s
  extraArgs: {audit-log-maxage: "7", anonymous-auth: "false"}
controllerManager: {extraArgs: {node-cidr-mask-size: "25"}}
etcd: {local: {extraArgs: {snapshot-count: "5000"}}}
networking: {podSubnet: 10.244.0.0/16}
"""


def test_a_v1beta3_init_file_loads_as_v1beta4(write_config: Callable[[str], Path],
                                              facts: NodeFacts) -> None:
    path = write_config(V1BETA3_INIT)
    bundle = load_init_config(path, facts=facts)
    assert bundle.init.node_registration.kubelet_extra_args == [
        v1beta4.Arg(name="node-ip", value="10.0.0.10"), v1beta4.Arg(name="v", value="2")]
    assert bundle.cluster.api_server.extra_args == [
        v1beta4.Arg(name="anonymous-auth", value="false"),
        v1beta4.Arg(name="audit-log-maxage", value="7")]
    assert bundle.cluster.controller_manager.extra_args == [
        v1beta4.Arg(name="node-cidr-mask-size", value="25")]
    assert bundle.cluster.etcd.local is not None
    assert bundle.cluster.etcd.local.extra_args == [v1beta4.Arg(name="snapshot-count",
                                                                value="5000")]
    assert bundle.init.timeouts is not None
    assert bundle.init.timeouts.control_plane_component_health_check == timedelta(minutes=10)
    assert bundle.cluster.networking.pod_subnet == "10.244.0.0/16"
    assert len(bundle.warnings) == 2
    assert all("converted to v1beta4" in warning for warning in bundle.warnings)


def test_a_v1beta3_join_file_moves_the_discovery_timeout(write_config: Callable[[str], Path],
                                                         facts: NodeFacts) -> None:
    path = write_config("""
        apiVersion: kubeadm.k8s.io/v1beta3
        kind: JoinConfiguration
        discovery:
          timeout: 2m
          bootstrapToken: {token: abcdef.0123456789abcdef, apiServerEndpoint: "10.0.0.10:6443",
                           unsafeSkipCAVerification: true}
    """)
    join = load_join_config(path, facts=facts).join
    assert join.timeouts is not None and join.timeouts.discovery == timedelta(minutes=2)


def test_a_typo_in_a_v1beta3_file_is_still_reported_with_its_path(
    write_config: Callable[[str], Path], facts: NodeFacts
) -> None:
    path = write_config("""
        apiVersion: kubeadm.k8s.io/v1beta3
        kind: ClusterConfiguration
        apiServer: {timeoutForControlPlane: soon, certSAN: [a]}
    """)
    with pytest.raises(ConfigError) as caught:
        load_init_config(path, facts=facts)
    message = str(caught.value)
    assert "document 1 (ClusterConfiguration): apiServer.timeoutForControlPlane: 'soon' is not " \
        "a duration" in message
    assert 'apiServer.certSAN: unknown field. Did you mean "certSANs"?' in message
