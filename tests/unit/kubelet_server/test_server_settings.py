"""The server's settings come from the kubelet's (KubeletConfiguration names), with upstream
defaults and clear errors."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from kubeadmpy.errors import ConfigError
from kubeadmpy.kubelet.server import AuthSettings, ServerSettings


def kubelet_settings(**overrides: Any) -> SimpleNamespace:
    """The attributes ServerSettings.from_kubelet reads from kubeadmpy.kubelet.settings."""
    values: dict[str, Any] = {
        "node_name": "node1", "address": "0.0.0.0", "port": 10250,
        "healthz_bind_address": "127.0.0.1", "healthz_port": 10248, "tls_cert_file": "",
        "tls_private_key_file": "", "pki_dir": "/var/lib/kubelet/pki", "node_ip": "",
        "authentication": {}, "authorization": {}}
    return SimpleNamespace(**{**values, **overrides})


def test_defaults_are_upstreams() -> None:
    settings = ServerSettings.from_kubelet(kubelet_settings())
    assert settings.auth == AuthSettings(client_ca_file="", anonymous=False, webhook=True,
                                         webhook_cache_ttl=120.0, mode="Webhook",
                                         authorized_ttl=300.0, unauthorized_ttl=30.0)
    assert (settings.port, settings.healthz_port, settings.cert_dir) == (
        10250, 10248, "/var/lib/kubelet/pki")


def test_kubeadm_style_authentication_and_authorization_are_read() -> None:
    settings = ServerSettings.from_kubelet(kubelet_settings(
        node_ip="10.0.0.4",
        authentication={"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"},
                        "webhook": {"enabled": True, "cacheTTL": "0s"},
                        "anonymous": {"enabled": False}},
        authorization={"mode": "Webhook", "webhook": {"cacheAuthorizedTTL": "1m30s",
                                                      "cacheUnauthorizedTTL": 5}}))
    assert settings.auth.client_ca_file == "/etc/kubernetes/pki/ca.crt"
    assert (settings.auth.webhook_cache_ttl, settings.auth.authorized_ttl,
            settings.auth.unauthorized_ttl) == (0.0, 90.0, 5.0)
    assert settings.node_ips == ("10.0.0.4",)


def test_a_bad_duration_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"authentication\.webhook\.cacheTTL: 'soon'"):
        ServerSettings.from_kubelet(kubelet_settings(
            authentication={"webhook": {"cacheTTL": "soon"}}))


def test_the_kubelets_own_settings_object_is_understood() -> None:
    from kubeadmpy.kubelet.settings import KubeletSettings

    settings = ServerSettings.from_kubelet(KubeletSettings(hostname_override="Node-A"))
    assert (settings.node_name, settings.port, settings.auth.mode) == ("node-a", 10250,
                                                                       "Webhook")
