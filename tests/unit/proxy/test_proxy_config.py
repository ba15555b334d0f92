"""kubeadmpy-proxy's flags and KubeProxyConfiguration file: upstream names, kubeadm's file loads,
flags override the file, and every bad input is a clear error naming the field."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubeadmpy.config import v1beta4
from kubeadmpy.config.components import kube_proxy_configuration
from kubeadmpy.errors import ConfigError
from kubeadmpy.proxy.config import parse_settings

HEADER = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"


def config_file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "config.conf"
    path.write_text(HEADER + body)
    return str(path)


def test_defaults_follow_upstream() -> None:
    settings, cleanup = parse_settings(["--hostname-override", "Node-A"])
    assert not cleanup
    assert settings.rules.node_name == "node-a"
    assert settings.healthz_bind_address == "0.0.0.0:10256"
    assert settings.metrics_bind_address == ""
    assert (settings.sync_period, settings.min_sync_period) == (30.0, 1.0)
    assert settings.rules.masquerade_bit == 14 and settings.rules.cluster_cidr == ""


def test_kubeadms_own_kube_proxy_config_loads(tmp_path: Path) -> None:
    cluster = v1beta4.ClusterConfiguration()
    cluster.networking.pod_subnet = "10.244.0.0/16"
    path = tmp_path / "config.conf"
    path.write_text(yaml.safe_dump(kube_proxy_configuration(cluster)))
    settings, _ = parse_settings(["--config", str(path), "--hostname-override", "n1"])
    assert settings.rules.cluster_cidr == "10.244.0.0/16"
    assert settings.kubeconfig == "/var/lib/kube-proxy/kubeconfig.conf"
    assert settings.ignored_fields == ("bindAddress",)


def test_explicit_flags_override_the_file(tmp_path: Path) -> None:
    path = config_file(tmp_path, "hostnameOverride: from-file\nclusterCIDR: 10.1.0.0/16\n"
                       "healthzBindAddress: 127.0.0.1:10256\nnftables:\n  syncPeriod: 10s\n"
                       "  minSyncPeriod: 2s\n  masqueradeAll: true\n  masqueradeBit: 15\n"
                       "clientConnection:\n  qps: 20\n  burst: 40\n")
    settings, _ = parse_settings(["--config", path, "--hostname-override", "from-flag"])
    assert settings.rules.node_name == "from-flag"
    assert settings.rules.cluster_cidr == "10.1.0.0/16"
    assert settings.healthz_bind_address == "127.0.0.1:10256"
    assert (settings.sync_period, settings.min_sync_period) == (10.0, 2.0)
    assert settings.rules.masquerade_all and settings.rules.masquerade_bit == 15
    assert (settings.qps, settings.burst) == (20.0, 40)


@pytest.mark.parametrize(("argv", "wanted"), [
    (["--masquerade-all"], (True, False)),
    (["--masquerade-all=true", "--cleanup=true"], (True, True)),
    (["--masquerade-all=false", "--cleanup=false"], (False, False)),
    (["--cleanup"], (False, True)),
], ids=["bare", "=true", "=false", "bare cleanup"])
def test_boolean_flags_take_go_spellings(argv: list[str], wanted: tuple[bool, bool]) -> None:
    settings, cleanup = parse_settings(argv)
    assert (settings.rules.masquerade_all, cleanup) == wanted


@pytest.mark.parametrize(("argv", "field", "words"), [
    (["--proxy-mode", "iptables"], "--proxy-mode", "not supported"),
    (["--proxy-mode", "ipvs"], "--proxy-mode", "Use nftables"),
    (["--cluster-cidr", "10.244.0.0"], "--cluster-cidr", "not a CIDR"),
    (["--cluster-cidr", "banana"], "--cluster-cidr", "not a CIDR"),
    (["--cluster-cidr", "fd00::/64"], "--cluster-cidr", "IPv6"),
    (["--cluster-cidr", "10.0.0.0/16,fd00::/64"], "--cluster-cidr", "several"),
    (["--healthz-bind-address", "10256"], "--healthz-bind-address", "host:port"),
    (["--healthz-bind-address", "localhost:10256"], "--healthz-bind-address", "IP address"),
    (["--metrics-bind-address", "0.0.0.0:99999"], "--metrics-bind-address", "host:port"),
    (["--v", "loud"], "--v", "not a number"),
    (["--masquerade-all=sometimes"], "--masquerade-all", "not a boolean"),
], ids=["iptables mode is refused", "ipvs mode is refused",
        "an address without prefix length is refused", "a word is not a CIDR",
        "an IPv6 CIDR is refused", "dual-stack lists are refused",
        "a port without host is refused", "a host name is refused", "a port above 65535",
        "a non-numeric verbosity", "a masquerade-all that is not a boolean"])
def test_bad_flags_name_the_flag(argv: list[str], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(argv)
    assert caught.value.field == field and words in str(caught.value)


@pytest.mark.parametrize(("body", "field", "words"), [
    ("clusterCidr: 10.0.0.0/8\n", "clusterCidr", 'Did you mean "clusterCIDR"'),
    ("nftables:\n  masqueradeBits: 14\n", "nftables.masqueradeBits", "Did you mean"),
    ("nftables:\n  masqueradeBit: x\n", "nftables.masqueradeBit", "expected an integer"),
    ("nftables:\n  masqueradeBit: 40\n", "nftables.masqueradeBit", "outside 0-31"),
    ("nftables:\n  syncPeriod: soon\n", "nftables.syncPeriod", "not a duration"),
    ("nftables:\n  minSyncPeriod: 0s\n", "nftables.minSyncPeriod", "positive"),
    ("clientConnection:\n  qps: fast\n", "clientConnection.qps", "expected a number"),
    ("mode: ipvs\n", "--proxy-mode", "not supported"),
], ids=["a misspelt field gets a did-you-mean", "unknown nested fields too",
        "a string where a number belongs", "a masquerade bit outside the mark",
        "a duration that is not one", "a zero sync period", "a qps that is not a number",
        "mode ipvs in the file"])
def test_bad_file_fields_name_the_field(tmp_path: Path, body: str, field: str,
                                        words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(["--config", config_file(tmp_path, body)])
    assert caught.value.field == field and words in str(caught.value)


def test_a_file_of_another_kind_or_missing_is_a_clear_error(tmp_path: Path) -> None:
    other = tmp_path / "kubelet.yaml"
    other.write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n")
    with pytest.raises(ConfigError, match=re.escape("Use apiVersion: kubeproxy.config.k8s.io/v1alpha1")):
        parse_settings(["--config", str(other)])
    with pytest.raises(ConfigError, match="cannot read"):
        parse_settings(["--config", str(tmp_path / "absent.conf")])
    (tmp_path / "bad.yaml").write_text("a: [")
    with pytest.raises(ConfigError, match="not YAML"):
        parse_settings(["--config", str(tmp_path / "bad.yaml")])


def test_the_executable_reports_bad_input_without_a_traceback() -> None:
    result = subprocess.run([sys.executable, "-m", "kubeadmpy.proxy.main", "--proxy-mode",
                             "kernelspace"], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("kubeadmpy-proxy: --proxy-mode: 'kernelspace' is not")
    assert "Traceback" not in result.stderr


def run_proxy(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubeadmpy.proxy.main", *argv],
                          capture_output=True, text=True, check=False, timeout=60)


def test_a_missing_kubeconfig_is_reported_under_its_flag() -> None:
    result = run_proxy("--kubeconfig", "/nonexistent/proxy.conf")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "kubeadmpy-proxy: --kubeconfig: cannot read /nonexistent/proxy.conf" in result.stderr


def test_a_healthz_port_in_use_is_reported_without_a_traceback(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "proxy.conf"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:1",
                                               "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_proxy("--kubeconfig", str(kubeconfig),
                           "--healthz-bind-address", f"127.0.0.1:{port}")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("kubeadmpy-proxy: ") and "address already in use" in (
        result.stderr.lower())
