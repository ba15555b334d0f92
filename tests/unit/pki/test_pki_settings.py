"""PKISettings and endpoint parsing: bad values name the config field and the fix."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

import pytest

from kubeadmpy.errors import UserInputError
from kubeadmpy.pki import Endpoint, PKISettings, parse_endpoint

BASE: dict[str, Any] = {"node_name": "node1", "advertise_address": "192.168.1.10"}


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"node_name": "Node_1"}, "nodeRegistration.name"),
        ({"advertise_address": "not-an-ip"}, "localAPIEndpoint.advertiseAddress"),
        ({"bind_port": 70000}, "localAPIEndpoint.bindPort"),
        ({"control_plane_endpoint": "bad_host:6443"}, "controlPlaneEndpoint"),
        ({"control_plane_endpoint": "cp.example.com:99999"}, "controlPlaneEndpoint"),
        ({"service_subnet": "10.96.0.0/40"}, "networking.serviceSubnet"),
        ({"dns_domain": "Cluster Local"}, "networking.dnsDomain"),
        ({"encryption_algorithm": "DSA-1024"}, "encryptionAlgorithm"),
        ({"cert_validity": timedelta(0)}, "certificateValidityPeriod"),
        ({"ca_validity": timedelta(hours=-1)}, "caCertificateValidityPeriod"),
    ],
    ids=[
        "an upper-case node name is rejected",
        "an advertise address that is not an IP is rejected",
        "a bind port above 65535 is rejected",
        "an endpoint host with an underscore is rejected",
        "an endpoint port above 65535 is rejected",
        "a service subnet with a bad prefix is rejected",
        "a DNS domain with spaces is rejected",
        "an unknown encryption algorithm is rejected",
        "a zero certificate validity is rejected",
        "a negative CA validity is rejected",
    ],
)
def test_bad_settings_name_the_config_field(override: dict[str, Any], field: str) -> None:
    with pytest.raises(UserInputError) as caught:
        PKISettings(**{**BASE, **override})
    assert caught.value.field == field
    assert caught.value.fix


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cp.example.com", Endpoint("cp.example.com", 6443)),
        ("cp.example.com:443", Endpoint("cp.example.com", 443)),
        ("10.0.0.1:7443", Endpoint("10.0.0.1", 7443)),
        ("[fd00::1]:8443", Endpoint("fd00::1", 8443)),
        ("[fd00::1]", Endpoint("fd00::1", 6443)),
        ("fd00::1", Endpoint("fd00::1", 6443)),
    ],
    ids=[
        "a bare DNS name gets the bind port",
        "a DNS name keeps its port",
        "an IPv4 address keeps its port",
        "a bracketed IPv6 address keeps its port",
        "a bracketed IPv6 address without port gets the bind port",
        "a bare IPv6 address gets the bind port",
    ],
)
def test_endpoints_parse_like_kubeadm(text: str, expected: Endpoint) -> None:
    assert parse_endpoint(text, 6443, field_name="controlPlaneEndpoint") == expected


def test_ipv6_endpoint_url_is_bracketed() -> None:
    assert Endpoint("fd00::1", 6443).url == "https://[fd00::1]:6443"


def test_kubernetes_service_ip_is_the_first_ip_of_the_first_subnet() -> None:
    settings = PKISettings(**BASE, service_subnet="10.100.0.0/16,fd00:10:96::/112")
    assert settings.kubernetes_service_ip == ipaddress.ip_address("10.100.0.1")


def test_cluster_endpoint_falls_back_to_the_advertise_address() -> None:
    assert PKISettings(**BASE, bind_port=7443).cluster_endpoint.url == "https://192.168.1.10:7443"
    with_endpoint = PKISettings(**BASE, control_plane_endpoint="lb.example.com")
    assert with_endpoint.cluster_endpoint.url == "https://lb.example.com:6443"
    assert with_endpoint.local_endpoint.url == "https://192.168.1.10:6443"
