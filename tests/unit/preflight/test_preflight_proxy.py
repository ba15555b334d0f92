"""HTTPProxy / HTTPProxyCIDR decide from proxy variables alone (Go's rules); nothing is sent."""

from __future__ import annotations

import pytest

from kubeadmpy.phases.preflight.proxy import http_proxy, http_proxy_cidr, https_proxy_for

PROXY = {"HTTPS_PROXY": "http://proxy.corp:3128"}


@pytest.mark.parametrize(
    ("host", "environ", "expected"),
    [
        ("10.0.0.10", {}, ""),
        ("10.0.0.10", PROXY, "http://proxy.corp:3128"),
        ("10.0.0.10", {"https_proxy": "proxy.corp:3128"}, "http://proxy.corp:3128"),
        ("10.0.0.10", {"HTTP_PROXY": "http://proxy.corp:3128"}, ""),
        ("127.0.0.1", PROXY, ""),
        ("::1", PROXY, ""),
        ("localhost", PROXY, ""),
        ("10.0.0.10", {**PROXY, "NO_PROXY": "10.0.0.10"}, ""),
        ("10.0.0.10", {**PROXY, "no_proxy": "10.0.0.0/8"}, ""),
        ("10.0.0.10", {**PROXY, "NO_PROXY": "192.168.0.0/16,10.0.0.11"}, "http://proxy.corp:3128"),
        ("10.0.0.10", {**PROXY, "NO_PROXY": "*"}, ""),
        ("fd00::10", {**PROXY, "NO_PROXY": "fd00::/64"}, ""),
        ("cp.k8s.internal", {**PROXY, "NO_PROXY": ".k8s.internal"}, ""),
        ("k8s.internal", {**PROXY, "NO_PROXY": ".k8s.internal"}, ""),
        ("cp.k8s.internal", {**PROXY, "NO_PROXY": "k8s.internal"}, ""),
        ("cp.k8s.internal", {**PROXY, "NO_PROXY": "*.k8s.internal"}, ""),
        ("notk8s.internal", {**PROXY, "NO_PROXY": "k8s.internal"}, "http://proxy.corp:3128"),
        ("10.0.0.10", {**PROXY, "NO_PROXY": "10.0.0.10:8443"}, "http://proxy.corp:3128"),
        ("10.0.0.10", {**PROXY, "NO_PROXY": "10.0.0.10:443"}, ""),
    ],
    ids=[
        "no proxy variables: direct",
        "HTTPS_PROXY applies to https",
        "lower-case https_proxy without a scheme means http://",
        "HTTP_PROXY alone does not apply to https",
        "IPv4 loopback is never proxied",
        "IPv6 loopback is never proxied",
        "localhost is never proxied",
        "an exact IP in NO_PROXY",
        "a CIDR in no_proxy",
        "other IPs and ranges do not match",
        "a star disables the proxy",
        "an IPv6 CIDR",
        "a leading dot matches subdomains",
        "a leading dot matches the domain itself",
        "a bare domain matches subdomains",
        "a star-dot domain matches subdomains",
        "a bare domain does not match a longer name",
        "an entry with another port does not match",
        "an entry with the same port matches",
    ],
)
def test_which_https_requests_use_the_proxy(
    host: str, environ: dict[str, str], expected: str
) -> None:
    assert https_proxy_for(host, 443, environ) == expected


def test_a_proxied_api_server_address_is_a_warning_with_the_fix() -> None:
    (warning,) = http_proxy("10.0.0.10", PROXY).run().warnings
    assert warning == (
        'Connection to "https://10.0.0.10" uses proxy "http://proxy.corp:3128". '
        "If that is not intended, add 10.0.0.10 to NO_PROXY"
    )


def test_an_ipv6_api_server_address_is_bracketed_in_the_url() -> None:
    (warning,) = http_proxy("fd00::10", PROXY).run().warnings
    assert '"https://[fd00::10]"' in warning


@pytest.mark.parametrize(
    ("cidr", "environ", "warns"),
    [
        ("10.96.0.0/12", PROXY, True),
        ("10.96.0.0/12", {**PROXY, "NO_PROXY": "10.96.0.0/12"}, False),
        ("10.96.0.0/12", {**PROXY, "NO_PROXY": "10.96.0.1"}, False),
        ("10.244.0.0/16", {}, False),
        ("", PROXY, False),
    ],
    ids=[
        "a service range missing from NO_PROXY warns",
        "the range in NO_PROXY is direct",
        "its first address in NO_PROXY is enough, as kubeadm tests only that",
        "no proxy configured",
        "no range given",
    ],
)
def test_cluster_ranges_behind_a_proxy(cidr: str, environ: dict[str, str], warns: bool) -> None:
    result = http_proxy_cidr(cidr, environ).run()
    assert result.errors == ()
    assert bool(result.warnings) is warns
    if warns:
        assert result.warnings[0].startswith(f'connection to "{cidr}" uses proxy')


def test_a_malformed_range_is_an_error_naming_it() -> None:
    (error,) = http_proxy_cidr("10.96.0.0/40", PROXY).run().errors
    assert "'10.96.0.0/40'" in error
