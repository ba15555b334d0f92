"""How probe specs are read: ports by number or name, URLs, defaults of the timing fields."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.kubelet.probes.checks import (
    ProbeSpecError,
    Result,
    _health_request,
    _health_status,
    http_url,
    resolve_port,
)
from kubeadmpy.kubelet.probes.manager import probe_settings

CONTAINER = {"name": "web", "ports": [{"name": "http", "containerPort": 8080},
                                      {"name": "admin", "containerPort": 9000}]}


@pytest.mark.parametrize(("port", "number"), [
    pytest.param(80, 80, id="a number is the port"),
    pytest.param("8081", 8081, id="a numeric string is the port"),
    pytest.param("admin", 9000, id="a name is looked up among the container's ports"),
])
def test_ports_resolve(port: Any, number: int) -> None:
    assert resolve_port(port, CONTAINER) == number


@pytest.mark.parametrize(("port", "message"), [
    pytest.param("metrics", "couldn't find port: metrics in web", id="an unknown name"),
    pytest.param(70000, "invalid port number: 70000", id="a number out of range"),
    pytest.param(None, "invalid port None", id="no port at all"),
])
def test_bad_ports_are_reported_in_upstream_words(port: Any, message: str) -> None:
    with pytest.raises(ProbeSpecError, match=message):
        resolve_port(port, CONTAINER)


@pytest.mark.parametrize(("action", "url"), [
    pytest.param({"port": "http"}, "http://10.0.0.5:8080/", id="defaults: HTTP, pod IP, /"),
    pytest.param({"port": 443, "scheme": "HTTPS", "path": "healthz"},
                 "https://10.0.0.5:443/healthz", id="scheme and a path without slash"),
    pytest.param({"port": 80, "host": "127.0.0.1", "path": "/a?b=c"},
                 "http://127.0.0.1:80/a?b=c", id="an explicit host and a query"),
    pytest.param({"port": 80, "host": "fd00::1"}, "http://[fd00::1]:80/",
                 id="IPv6 hosts are bracketed"),
])
def test_http_urls(action: dict[str, Any], url: str) -> None:
    assert http_url(action, CONTAINER, "10.0.0.5") == url


def test_timing_fields_default_like_the_api() -> None:
    assert probe_settings({}) == {"initialDelaySeconds": 0, "periodSeconds": 10,
                                  "timeoutSeconds": 1, "successThreshold": 1,
                                  "failureThreshold": 3}
    assert probe_settings({"periodSeconds": 2, "initialDelaySeconds": 5})["periodSeconds"] == 2


def test_warnings_count_as_success_and_unknown_as_failure() -> None:
    assert Result.WARNING.ok and Result.SUCCESS.ok
    assert not Result.UNKNOWN.ok and not Result.FAILURE.ok


def test_grpc_health_messages_are_encoded_as_protobuf() -> None:
    assert _health_request("") == b""
    assert _health_request("db") == b"\x0a\x02db"
    assert _health_status(b"\x08\x01") == 1
    assert _health_status(b"") == 0
