"""Every kind of bad input gives one clear paragraph: where (file/document or flag), field, fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from kubeadmpy.config import (
    InitFlags,
    JoinFlags,
    load_init_config,
    load_join_config,
    load_reset_config,
)
from kubeadmpy.config.netutil import NodeFacts
from kubeadmpy.errors import ConfigError

INIT = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n"
CLUSTER = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"
JOIN = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n"
RESET = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\n"
OURS = "apiVersion: kubeadmpy.io/v1alpha1\nkind: KubeadmpyConfiguration\n"
TOKEN_DISCOVERY = ("discovery: {bootstrapToken: {token: abcdef.0123456789abcdef, "
                   "apiServerEndpoint: '10.0.0.10:6443', unsafeSkipCAVerification: true}}\n")


@dataclass
class Case:
    name: str
    text: str | None  # the config file, or None for flags only
    expected: list[str]  # fragments of the message, in order
    flags: Any = None
    load: Callable[..., Any] = load_init_config
    extra: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("malformed YAML names the line", INIT + "nodeRegistration:\n  name: a\n   bad: [\n",
         ["kubeadm.yaml: line ", "not valid YAML", "Check the indentation"]),
    Case("unknown field suggests the closest name",
         INIT + "---\n" + CLUSTER + "networking:\n  podSubnett: 10.244.0.0/16\n",
         ['kubeadm.yaml, document 2 (ClusterConfiguration): networking.podSubnett: unknown '
          'field. Did you mean "podSubnet"?']),
    Case("bad pod CIDR", CLUSTER + "networking: {podSubnet: 10.244.0.0/33}\n",
         ["document 1 (ClusterConfiguration): networking.podSubnet: '10.244.0.0/33' is not a "
          "CIDR", "Give a CIDR such as"]),
    Case("CIDR with host bits", CLUSTER + "networking: {podSubnet: 10.244.1.0/16}\n",
         ["networking.podSubnet: '10.244.1.0/16' is not a CIDR (10.244.1.0/16 has host bits"]),
    Case("service subnet larger than /12", CLUSTER + "networking: {serviceSubnet: 10.0.0.0/8}\n",
         ["networking.serviceSubnet: 10.0.0.0/8 is too large. Use a prefix from /12 to /28"]),
    Case("service subnet under 10 addresses",
         CLUSTER + "networking: {serviceSubnet: 10.96.0.0/30}\n",
         ["networking.serviceSubnet: 10.96.0.0/30 is too small"]),
    Case("IPv6 service subnet larger than /108",
         CLUSTER + "networking: {serviceSubnet: 'fd00::/64'}\n",
         ["fd00::/64 is too large. Use a prefix from /108 to /124"]),
    Case("two CIDRs of one family", CLUSTER + "networking: {podSubnet: '10.1.0.0/16,10.2.0.0/16'}\n",
         ["networking.podSubnet: '10.1.0.0/16,10.2.0.0/16' is not single- or dual-stack"]),
    Case("bad token format", INIT + "bootstrapTokens: [{token: ABCDEF.0123456789abcdef}]\n",
         ["document 1 (InitConfiguration): bootstrapTokens[0].token: 'ABCDEF.0123456789abcdef' "
          "is not a bootstrap token", "6 then 16 characters of [a-z0-9]"]),
    Case("bad token group", INIT + "bootstrapTokens: [{groups: [admins]}]\n",
         ["bootstrapTokens[0].groups[0]: 'admins' is not a bootstrap group"]),
    Case("unknown token usage", INIT + "bootstrapTokens: [{usages: [signing, login]}]\n",
         ["bootstrapTokens[0].usages[1]: 'login' is not supported. Use one of 'signing', "
          "'authentication'"]),
    Case("--config mixed with config-bound flags", INIT,
         ["command line: --config: can not be mixed with --pod-network-cidr, --token",
          "Put these settings in the config file"],
         flags=InitFlags(pod_network_cidr="10.244.0.0/16", token="abcdef.0123456789abcdef")),
    Case("wrong type", INIT + "localAPIEndpoint: {bindPort: '6443'}\n",
         ["localAPIEndpoint.bindPort: expected an integer, got string '6443'"]),
    Case("unquoted number for a string", CLUSTER + "kubernetesVersion: 1.30\n",
         ["kubernetesVersion: expected a string, got number 1.3. Quote it"]),
    Case("bad duration", CLUSTER + "certificateValidityPeriod: 1y\n",
         ["certificateValidityPeriod: '1y' is not a duration. Write numbers with units h, m"]),
    Case("zero duration", INIT + "timeouts: {discovery: 0s}\n",
         ["timeouts.discovery: 0s is not positive"]),
    Case("bad flavor", OURS + "controlPlaneFlavor: rust\n",
         ["document 1 (KubeadmpyConfiguration): controlPlaneFlavor: 'rust' is not supported. "
          "Use one of 'python', 'upstream'"]),
    Case("flannel VNI out of range", OURS + "network: {flannel: {vni: 0}}\n",
         ["network.flannel.vni: 0 is out of range. Use a number from 1 to 16777215"]),
    Case("flannel port out of range", OURS + "network: {flannel: {port: 70000}}\n",
         ["network.flannel.port: 70000 is out of range"]),
    Case("CSI plugin unknown", OURS + "storage: {csiPlugin: nfs}\n",
         ["storage.csiPlugin: 'nfs' is not supported. Use one of 'hostpath', 'none'"]),
    Case("advertise address not an IP", INIT + "localAPIEndpoint: {advertiseAddress: cp-1}\n",
         ["localAPIEndpoint.advertiseAddress: 'cp-1' is not an IP address"]),
    Case("bind port out of range", INIT + "localAPIEndpoint: {bindPort: 70000}\n",
         ["localAPIEndpoint.bindPort: 70000 is out of range. Use a number from 1 to 65535"]),
    Case("node name not DNS-1123", INIT + "nodeRegistration: {name: Node_1}\n",
         ["nodeRegistration.name: 'Node_1' is not a valid node name", "--node-name"]),
    Case("control-plane endpoint with bad port", CLUSTER + "controlPlaneEndpoint: 'cp:99999'\n",
         ["controlPlaneEndpoint: port '99999' is not a number from 1 to 65535",
          "Give host[:port]"]),
    Case("encryption algorithm unknown", CLUSTER + "encryptionAlgorithm: RSA-1024\n",
         ["encryptionAlgorithm: 'RSA-1024' is not supported. Use one of 'RSA-2048'"]),
    Case("local and external etcd", CLUSTER + "etcd: {local: {}, external: {endpoints: "
         "['http://10.0.0.5:2379']}}\n",
         ["etcd: both local and external are set. Keep only"]),
    Case("external https etcd without client certs",
         CLUSTER + "etcd: {external: {endpoints: ['https://10.0.0.5:2379']}}\n",
         ["etcd.external: caFile, certFile, keyFile not set, but the endpoints use https"]),
    Case("CRI socket not a unix URL", INIT + "nodeRegistration: {criSocket: 'tcp://1.2.3.4:1'}\n",
         ["nodeRegistration.criSocket: 'tcp://1.2.3.4:1' is not a unix socket URL",
          "unix:///var/run/containerd/containerd.sock"]),
    Case("image pull policy unknown", INIT + "nodeRegistration: {imagePullPolicy: Sometimes}\n",
         ["nodeRegistration.imagePullPolicy: 'Sometimes' is not supported"]),
    Case("all combined with other preflight names",
         INIT + "nodeRegistration: {ignorePreflightErrors: [all, Swap]}\n",
         ["nodeRegistration.ignorePreflightErrors: ['all', 'Swap'] combines 'all'"]),
    Case("taint with unknown effect", INIT + "nodeRegistration: {taints: [{key: a, effect: "
         "Never}]}\n", ["nodeRegistration.taints[0].effect: 'Never' is not supported"]),
    Case("extra arg written with dashes", CLUSTER + "apiServer: {extraArgs: [{name: --v, "
         "value: '2'}]}\n", ["apiServer.extraArgs[0].name: '--v' is not a flag name"]),
    Case("cert SAN that is neither IP nor DNS", CLUSTER + "apiServer: {certSANs: ['a b']}\n",
         ["apiServer.certSANs[0]: 'a b' is not an IP address or DNS name"]),
    Case("unknown feature gate", CLUSTER + "featureGates: {Turbo: true}\n",
         ["featureGates.Turbo: 'Turbo' is not supported"]),
    Case("kubeadm API version dropped upstream", INIT.replace("v1beta4", "v1beta2"),
         ["document 1 (InitConfiguration): apiVersion: 'kubeadm.k8s.io/v1beta2' is not supported "
          "for InitConfiguration. Use apiVersion: kubeadm.k8s.io/v1beta4"]),
    Case("document without kind", "apiVersion: v1\n",
         ["document 1: apiVersion/kind: missing"]),
    Case("document that is a list", "- a\n- b\n", ["document 1: is not a mapping"]),
    Case("duplicate key", INIT + "dryRun: true\ndryRun: false\n",
         ["kubeadm.yaml: line 4: duplicate key 'dryRun'. Keep only one of them"]),
    Case("two documents of one kind", INIT + "---\n" + INIT,
         ["document 2 (InitConfiguration): kind: a second InitConfiguration document"]),
    Case("empty file", "", ["kubeadm.yaml: file: has no documents"]),
    Case("bad pod CIDR flag", None,
         ["command line: --pod-network-cidr (networking.podSubnet): '10.244.0.0/99' is not a "
          "CIDR"], flags=InitFlags(pod_network_cidr="10.244.0.0/99")),
    Case("bad token flag", None, ["command line: --token (bootstrapTokens[0].token): 'x'"],
         flags=InitFlags(token="x")),
    Case("bad token ttl flag", None, ["command line: --token-ttl: '1 day' is not a duration"],
         flags=InitFlags(token_ttl="1 day")),
    Case("bad feature gates flag", None, ["--feature-gates: 'Foo' is not Name=true|false"],
         flags=InitFlags(feature_gates="Foo")),
    Case("join without CA pin", JOIN + TOKEN_DISCOVERY.replace("true", "false"),
         ["document 1 (JoinConfiguration): discovery.bootstrapToken.caCertHashes: is empty",
          "--discovery-token-unsafe-skip-ca-verification"], load=load_join_config),
    Case("join with a malformed CA pin", JOIN + TOKEN_DISCOVERY.replace(
         "unsafeSkipCAVerification: true", "caCertHashes: [md5:abc]"),
         ["discovery.bootstrapToken.caCertHashes[0]: 'md5:abc' is not a CA pin"],
         load=load_join_config),
    Case("join without discovery", JOIN,
         ["discovery: needs exactly one of bootstrapToken and file"], load=load_join_config),
    Case("join endpoint without port", None,
         ["command line: the API server endpoint argument "
          "(discovery.bootstrapToken.apiServerEndpoint): '10.0.0.10' is not host:port"],
         flags=JoinFlags(api_server_endpoint="10.0.0.10", token="abcdef.0123456789abcdef",
                         discovery_token_unsafe_skip_ca_verification=True),
         load=load_join_config),
    Case("bad certificate key", JOIN + TOKEN_DISCOVERY + "controlPlane: {certificateKey: xyz}\n",
         ["controlPlane.certificateKey: is not 64 hexadecimal characters"],
         load=load_join_config),
    Case("reset with unknown unmount flag", RESET + "unmountFlags: [MNT_LAZY]\n",
         ["document 1 (ResetConfiguration): unmountFlags[0]: 'MNT_LAZY' is not supported"],
         load=load_reset_config),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gives_one_clear_paragraph(case: Case, tmp_path: Path,
                                             facts: NodeFacts) -> None:
    path = None
    if case.text is not None:
        path = tmp_path / "kubeadm.yaml"
        path.write_text(dedent(case.text))
    kwargs: dict[str, Any] = {} if case.load is load_reset_config else {"facts": facts}
    with pytest.raises(ConfigError) as caught:
        case.load(path, case.flags, **kwargs)
    message = str(caught.value)
    assert "\n" not in message, message
    position = 0
    for fragment in case.expected:
        found = message.find(fragment, position)
        assert found >= 0, f"{fragment!r} not in {message!r}"
        position = found + len(fragment)
    assert "Traceback" not in message


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--config: .*nope.yaml: no such file"):
        load_init_config(tmp_path / "nope.yaml")


def test_leaf_validity_beyond_the_ca_is_only_a_warning(tmp_path: Path, facts: NodeFacts) -> None:
    path = tmp_path / "kubeadm.yaml"
    path.write_text(CLUSTER + "certificateValidityPeriod: 1000h\ncaCertificateValidityPeriod: "
                    "500h\n")
    warnings = load_init_config(path, facts=facts).warnings
    assert warnings == ["certificateValidityPeriod: 1000h0m0s is longer than "
                        "caCertificateValidityPeriod 500h0m0s; certificates will outlive their CA"]


def test_overlapping_pod_and_service_subnets_are_a_warning(facts: NodeFacts) -> None:
    bundle = load_init_config(None, InitFlags(pod_network_cidr="10.96.0.0/16"), facts=facts)
    assert bundle.warnings == ["networking.podSubnet 10.96.0.0/16 overlaps serviceSubnet "
                               "10.96.0.0/12; pods and Services will collide"]


def test_another_release_with_the_python_control_plane_is_a_warning(facts: NodeFacts) -> None:
    bundle = load_init_config(None, InitFlags(kubernetes_version="v1.30.2"), facts=facts)
    assert bundle.warnings == [
        "kubernetesVersion v1.30.2: the Python control plane serves the v1.33 API whatever the "
        "version; set controlPlaneFlavor: upstream to run that release"]
