"""net-conf.json: upstream's file parses to the VXLAN settings; every bad key is named with a fix."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from kubeadmpy.errors import ConfigError
from kubeadmpy.network import netconf

UPSTREAM = '{"Network": "10.244.0.0/16", "EnableNFTables": false, "Backend": {"Type": "vxlan"}}'


def test_upstreams_default_net_conf_gives_vni_1_port_8472_and_flannel_1() -> None:
    conf = netconf.parse_net_conf(UPSTREAM)
    assert conf.network == ipaddress.IPv4Network("10.244.0.0/16")
    assert (conf.subnet_len, conf.backend.vni, conf.backend.port) == (24, 1, 8472)
    assert conf.backend.device == "flannel.1" and conf.backend.mtu is None


def test_keys_match_ignoring_case_as_go_does() -> None:
    conf = netconf.parse_net_conf('{"network": "10.10.0.0/16", "backend": '
                                  '{"type": "VXLAN", "vni": 4, "port": 4789, "mtu": 9000}}')
    assert (conf.backend.vni, conf.backend.port, conf.backend.mtu) == (4, 4789, 9000)
    assert conf.backend.device == "flannel.4"


def test_port_0_means_the_kernel_default_8472() -> None:
    assert netconf.parse_net_conf('{"Network": "10.244.0.0/16", "Backend": {"Port": 0}}'
                                  ).backend.port == 8472


def test_a_small_network_gets_subnets_two_bits_longer() -> None:
    assert netconf.parse_net_conf('{"Network": "10.1.0.0/23"}').subnet_len == 25


@pytest.mark.parametrize(("text", "field", "words"), [
    ("{", "net-conf.json", "not valid JSON"),
    ("[]", "net-conf.json", "must be a JSON object"),
    ("{}", "Network", "is missing"),
    ('{"Network": 10}', "Network", "not a string"),
    ('{"Network": "10.244.0.1/16"}', "Network", "not an IPv4 network"),
    ('{"Network": "fd00::/64"}', "Network", "not an IPv4 network"),
    ('{"Netwrok": "10.244.0.0/16"}', "Netwrok", "Did you mean 'Network'"),
    ('{"Network": "10.244.0.0/16", "SubnetLen": 8}', "SubnetLen", "does not fit"),
    ('{"Network": "10.244.0.0/16", "SubnetLen": "24"}', "SubnetLen", "not a number"),
    ('{"Network": "10.244.0.0/16", "SubnetMin": "x"}', "SubnetMin", "not an IPv4 address"),
    ('{"Network": "10.244.0.0/16", "EnableIPv6": true}', "EnableIPv6", "not supported"),
    ('{"Network": "10.244.0.0/16", "EnableIPv4": false}', "EnableIPv4", "not supported"),
    ('{"Network": "10.244.0.0/16", "EnableNFTables": "yes"}', "EnableNFTables",
     "not a boolean"),
    ('{"Network": "10.244.0.0/16", "Backend": "vxlan"}', "Backend", "must be a JSON object"),
    ('{"Network": "10.244.0.0/16", "Backend": {"Type": "host-gw"}}', "Backend.Type",
     "not supported"),
    ('{"Network": "10.244.0.0/16", "Backend": {"VNI": 0}}', "Backend.VNI", "from 1 to"),
    ('{"Network": "10.244.0.0/16", "Backend": {"VNI": "1"}}', "Backend.VNI", "from 1 to"),
    ('{"Network": "10.244.0.0/16", "Backend": {"VNI": 16777216}}', "Backend.VNI", "from 1"),
    ('{"Network": "10.244.0.0/16", "Backend": {"Port": 70000}}', "Backend.Port", "0 to 65535"),
    ('{"Network": "10.244.0.0/16", "Backend": {"MTU": 100}}', "Backend.MTU", "118 to"),
    ('{"Network": "10.244.0.0/16", "Backend": {"DirectRouting": true}}',
     "Backend.DirectRouting", "not supported"),
    ('{"Network": "10.244.0.0/16", "Backend": {"Learning": 1}}', "Backend.Learning",
     "not a boolean"),
    ('{"Network": "10.244.0.0/16", "Backend": {"VIN": 1}}', "Backend.VIN",
     "Did you mean 'VNI'"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None)
def test_bad_net_conf_is_an_error_naming_the_field(text: str, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        netconf.parse_net_conf(text, "/etc/kube-flannel/net-conf.json")
    assert caught.value.field == field
    assert words in str(caught.value)
    assert str(caught.value).startswith("/etc/kube-flannel/net-conf.json: ")
    assert caught.value.fix


def test_a_missing_file_names_the_flag_that_points_at_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        netconf.load_net_conf(str(tmp_path / "net-conf.json"))
    assert caught.value.field == "--net-config-path"
    assert "cannot read" in str(caught.value)


def test_the_file_is_read_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "net-conf.json"
    path.write_text(json.dumps({"Network": "10.244.0.0/16", "Backend": {"VNI": 2}}))
    assert netconf.load_net_conf(str(path)).backend.device == "flannel.2"
