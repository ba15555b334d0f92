"""Malformed credentials, headers and bodies over HTTPS: answered with 4xx, never a 5xx."""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_server import HarnessServer

from kubeadmpy import pki

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
REVIEWS = ["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
           "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
           "/apis/authorization.k8s.io/v1/subjectaccessreviews",
           "/apis/authentication.k8s.io/v1/tokenreviews",
           "/apis/authentication.k8s.io/v1/selfsubjectreviews"]
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=120)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3), max_leaves=12)


def send(server: HarnessServer, directory: Path, method: str, path: str,
         headers: dict[str, str], body: bytes = b"") -> int:
    context = ssl.create_default_context(cafile=str(directory / "ca.crt"))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context,
                                             timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


@FUZZ
@given(header=header_text, path=st.sampled_from(["/api", "/apis", "/api/v1", *REVIEWS]))
def test_any_authorization_header(cluster: tuple[HarnessServer, Path, pki.PKISettings],
                                  header: str, path: str) -> None:
    server, directory, _ = cluster
    code = send(server, directory, "POST" if path in REVIEWS else "GET", path,
                {"Authorization": header, "Content-Type": "application/json"}, b"{}")
    assert code < 500


@FUZZ
@given(path=st.sampled_from(REVIEWS), content_type=st.sampled_from([
    "application/json", "application/vnd.kubernetes.protobuf", "text/plain"]),
    body=st.one_of(st.binary(max_size=200), json_values.map(
        lambda v: json.dumps({"spec": v}).encode()), json_values.map(
        lambda v: json.dumps({"spec": {"resourceAttributes": v, "user": "x"}}).encode()),
        st.just(b"k8s\x00\n\x0c\n\x02v1\x12\x06Status")))
def test_any_review_body(cluster: tuple[HarnessServer, Path, pki.PKISettings], path: str,
                         content_type: str, body: bytes) -> None:
    server, directory, _ = cluster
    headers: dict[str, Any] = {"Content-Type": content_type,
                               "Authorization": "Bearer abcdef.0123456789abcdef"}
    assert send(server, directory, "POST", path, headers, body) < 500
