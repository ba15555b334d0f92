"""kubeadmpy-flanneld's command line: upstream's flags, clear errors, no tracebacks; and the
masquerade table it writes with --ip-masq."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest

from kubeadmpy.errors import ConfigError
from kubeadmpy.network import flanneld, masq


def test_upstream_flags_become_settings() -> None:
    settings = flanneld.parse_settings(
        ["--kube-subnet-mgr", "--kubeconfig-file", "/etc/k.conf", "--iface", "eth1",
         "--iface", "10.0.0.5", "--ip-masq", "--public-ip", "192.0.2.7",
         "--subnet-file", "/tmp/s.env", "--net-config-path", "/tmp/n.json",
         "--iptables-resync", "9", "--iptables-forward-rules", "false",
         "--healthz-ip", "127.0.0.1", "--healthz-port", "8081"],
        {"NODE_NAME": "worker-1"})
    assert settings == flanneld.Settings(
        node_name="worker-1", kubeconfig="/etc/k.conf", net_conf_path="/tmp/n.json",
        subnet_file="/tmp/s.env", ifaces=("eth1", "10.0.0.5"), public_ip="192.0.2.7",
        ip_masq=True, forward_rules=False, resync_seconds=9.0, healthz_ip="127.0.0.1",
        healthz_port=8081)


def test_defaults_are_upstreams_paths() -> None:
    settings = flanneld.parse_settings(["--kube-subnet-mgr"], {"NODE_NAME": "n"})
    assert settings.subnet_file == "/run/flannel/subnet.env"
    assert settings.net_conf_path == "/etc/kube-flannel/net-conf.json"
    assert (settings.ip_masq, settings.forward_rules, settings.resync_seconds) == (
        False, True, 5.0)
    assert settings.healthz_port is None  # upstream's 0: no health endpoints


def test_flanneld_variables_set_flags_and_the_command_line_wins() -> None:
    settings = flanneld.parse_settings(["--iface", "eth2"], {
        "NODE_NAME": "n", "FLANNELD_KUBE_SUBNET_MGR": "true", "FLANNELD_IP_MASQ": "false",
        "FLANNELD_IFACE": "eth1", "FLANNELD_PUBLIC_IP": "192.0.2.9",
        "FLANNELD_IPTABLES_RESYNC": "7"})
    assert (settings.ifaces, settings.public_ip, settings.ip_masq, settings.resync_seconds) == (
        ("eth2",), "192.0.2.9", False, 7.0)


@pytest.mark.parametrize(("argv", "wanted"), [
    (["--kube-subnet-mgr=true", "--ip-masq=true"], (True, True)),
    (["--kube-subnet-mgr", "--ip-masq=false"], (False, True)),
    (["--kube-subnet-mgr", "--iptables-forward-rules", "--ip-masq"], (True, True)),
    (["--kube-subnet-mgr", "--iptables-forward-rules=false"], (False, False)),
], ids=["switches given =true", "a switch given =false", "a bare forward-rules flag",
        "forward rules =false"])
def test_boolean_flags_take_go_spellings(argv: list[str], wanted: tuple[bool, bool]) -> None:
    """Upstream's flags are Go booleans: bare, `=true` and `=false` all work."""
    settings = flanneld.parse_settings(argv, {"NODE_NAME": "n"})
    assert (settings.ip_masq, settings.forward_rules) == wanted


def test_a_flanneld_switch_variable_that_is_not_a_boolean_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        flanneld.parse_settings([], {"FLANNELD_KUBE_SUBNET_MGR": "sure"})
    assert caught.value.field == "FLANNELD_KUBE_SUBNET_MGR"


@pytest.mark.parametrize(("argv", "field"), [
    ([], "--kube-subnet-mgr"),
    (["--kube-subnet-mgr", "--iptables-resync", "0"], "--iptables-resync"),
    (["--kube-subnet-mgr", "--public-ip", "node-a"], "--public-ip"),
    (["--kube-subnet-mgr", "--iptables-forward-rules", "sometimes"],
     "--iptables-forward-rules"),
    (["--kube-subnet-mgr", "--v", "loud"], "--v"),
    (["--kube-subnet-mgr", "--healthz-port", "70000"], "--healthz-port"),
    (["--kube-subnet-mgr=sure"], "--kube-subnet-mgr"),
    (["--kube-subnet-mgr", "--ip-masq=maybe"], "--ip-masq"),
], ids=["without --kube-subnet-mgr", "a zero resync period", "a public ip that is a name",
        "forward rules neither true nor false", "a verbosity that is not a number",
        "a health port beyond 65535", "a switch that is not a boolean",
        "ip-masq that is not a boolean"])
def test_bad_flags_name_the_flag(argv: list[str], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        flanneld.parse_settings(argv, {"NODE_NAME": "n"})
    assert caught.value.field == field and caught.value.fix


def test_a_bad_net_conf_stops_the_daemon_with_one_line_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "net-conf.json"
    path.write_text('{"Network": "10.244.0.0/16", "Backend": {"Type": "udp"}}')
    done = subprocess.run([sys.executable, "-m", "kubeadmpy.network.flanneld",
                           "--kube-subnet-mgr", f"--net-config-path={path}"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith(f"kubeadmpy-flanneld: {path}: Backend.Type: 'udp' is not "
                                  "supported")
    assert "Traceback" not in done.stderr


def test_the_masquerade_table_follows_upstreams_rules() -> None:
    text = masq.render(ipaddress.IPv4Network("10.244.0.0/16"),
                       ipaddress.IPv4Network("10.244.1.0/24"))
    assert text.startswith("table ip kubeadmpy-flannel {\n")
    rules = [line.strip() for line in text.splitlines() if line.startswith("\t\t")]
    assert rules == [
        "type nat hook postrouting priority srcnat; policy accept;",
        "meta mark & 0x00004000 == 0x00004000 return",
        "ip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return",
        "ip saddr 10.244.0.0/16 ip daddr 10.244.1.0/24 return",
        "ip saddr != 10.244.0.0/16 ip daddr 10.244.1.0/24 return",
        "ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random",
        "ip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 masquerade fully-random",
        "type filter hook forward priority filter; policy accept;",
        "ip saddr 10.244.0.0/16 accept",
        "ip daddr 10.244.0.0/16 accept",
    ]
    assert "chain forward" not in masq.render(ipaddress.IPv4Network("10.244.0.0/16"),
                                              ipaddress.IPv4Network("10.244.1.0/24"),
                                              forward_rules=False)
