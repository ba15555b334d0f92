"""Property tests: malformed tokens, headers, certificates, stored values and bodies.

Authenticators are called directly (not through the chain, which would hide a crash behind its
own safety net): whatever they are given, they answer, and never with a user.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import tempfile
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from security_testkit import ObjectTable, pod, secret

from kubeadmpy.errors import ConfigError
from kubeadmpy.security import encryption_config, reviews
from kubeadmpy.security.authn import Credentials
from kubeadmpy.security.authorizer import AuthorizerChain
from kubeadmpy.security.bootstrap_tokens import BootstrapTokenAuthenticator
from kubeadmpy.security.encryption import DecryptionError, EncryptionTransformers
from kubeadmpy.security.identity import ANONYMOUS, request_attributes
from kubeadmpy.security.rbac import RBACAuthorizer
from kubeadmpy.security.serviceaccount import (
    ObjectGetters,
    ServiceAccountAuthenticator,
    TokenIssuer,
)
from kubeadmpy.security.x509_auth import X509Authenticator

# hypothesis caches data in ./.hypothesis by default; keep the work tree clean
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "kubeadmpy-hypothesis"))
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
ISSUER = "https://kubernetes.default.svc"
KEY = ec.generate_private_key(ec.SECP256R1())
FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def objects() -> ObjectTable:
    table = ObjectTable()
    table.add("secrets", secret("kube-system", "bootstrap-token-abcdef", {
        "token-id": "abcdef", "token-secret": "0123456789abcdef",
        "usage-bootstrap-authentication": "true"}, "bootstrap.kubernetes.io/token"))
    table.add("serviceaccounts", {"metadata": {"namespace": "ns", "name": "sa", "uid": "u"}})
    table.add("pods", pod("ns", "p", "n", service_account="sa"))
    return table


TABLE = objects()
BOOTSTRAP = BootstrapTokenAuthenticator(TABLE.getter("secrets"), lambda: NOW)
SERVICE_ACCOUNTS = ServiceAccountAuthenticator(
    [ISSUER], [KEY.public_key()],
    ObjectGetters(TABLE.getter("serviceaccounts"), TABLE.getter("pods")), (), lambda: NOW)
VALID = TokenIssuer(KEY, ISSUER, lambda: NOW).issue("ns", "sa", "u", [ISSUER], 3600)[0]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=20)
claims = st.fixed_dictionaries({}, optional={
    "iss": st.sampled_from([ISSUER, "x"]) | json_values, "sub": json_values,
    "aud": st.just([ISSUER]) | json_values, "exp": st.integers() | json_values,
    "nbf": json_values, "iat": json_values,
    "kubernetes.io": json_values | st.fixed_dictionaries({
        "namespace": st.just("ns") | json_values,
        "serviceaccount": json_values | st.just({"name": "sa", "uid": "u"}),
        "pod": json_values})})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@FUZZ
@given(st.text(max_size=200))
def test_any_token_text_gets_an_answer_and_no_user(token: str) -> None:
    for authenticator in (BOOTSTRAP, SERVICE_ACCOUNTS):
        result = authenticator.authenticate_token(token, ())
        assert result.user is None


@FUZZ
@given(st.sampled_from(['{"alg":"ES256"}', '{"alg":"RS256"}', '{"alg":"none"}', "[]", "{",
                        '{"alg":1}']), claims, st.binary(max_size=80))
def test_forged_jwts_are_refused(header: str, payload: dict[str, Any], signature: bytes) -> None:
    token = f"{b64(header.encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"
    result = SERVICE_ACCOUNTS.authenticate_token(token, ())
    assert result.user is None and result.reason


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID) - 1), st.characters(codec="ascii"))
def test_a_valid_token_changed_anywhere_is_refused(position: int, char: str) -> None:
    token = VALID[:position] + char + VALID[position + 1:]
    result = SERVICE_ACCOUNTS.authenticate_token(token, ())
    # a change in the last character may only touch base64 padding bits of the signature
    assert result.user is None or token == VALID or position == len(VALID) - 1


@FUZZ
@given(st.text(max_size=120))
def test_any_authorization_header_parses(header: str) -> None:
    token = Credentials(authorization=header).bearer_token
    assert token is None or isinstance(token, str)


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_as_a_client_certificate_are_refused(der: bytes) -> None:
    result = X509Authenticator([], lambda: NOW).authenticate(Credentials(client_cert_der=der))
    assert result.user is None and (result.reason or not der)  # no bytes: no certificate


TRANSFORMER = EncryptionTransformers(encryption_config.parse({
    "apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
    "resources": [{"resources": ["secrets"], "providers": [
        {"aescbc": {"keys": [{"name": "c", "secret": base64.b64encode(b"c" * 32).decode()}]}},
        {"aesgcm": {"keys": [{"name": "g", "secret": base64.b64encode(b"g" * 16).decode()}]}},
        {"secretbox": {"keys": [{"name": "s",
                                 "secret": base64.b64encode(b"s" * 32).decode()}]}}]}]}))


@FUZZ
@given(st.sampled_from([b"", b"k8s:enc:", b"k8s:enc:aescbc:v1:c:", b"k8s:enc:aesgcm:v1:g:",
                        b"k8s:enc:secretbox:v1:s:"]), st.binary(max_size=100))
def test_stored_garbage_is_a_decryption_error(prefix: bytes, body: bytes) -> None:
    transformer = TRANSFORMER.for_resource("secrets")
    try:
        transformer.from_storage(prefix + body, b"/registry/secrets/a/b")
    except DecryptionError:
        return
    assert prefix == b"k8s:enc:aescbc:v1:c:"  # unauthenticated CBC may unpad random bytes


@FUZZ
@given(json_values)
def test_any_encryption_configuration_is_accepted_or_a_config_error(doc: Any) -> None:
    for candidate in (doc, {"apiVersion": "apiserver.config.k8s.io/v1",
                            "kind": "EncryptionConfiguration", "resources": doc}):
        with contextlib.suppress(ConfigError):
            encryption_config.parse(candidate)


RBAC = RBACAuthorizer()
CHAIN = AuthorizerChain([RBAC])


@FUZZ
@given(json_values, json_values)
def test_any_review_body_is_answered_or_invalid(spec: Any, extra: Any) -> None:
    user = ANONYMOUS
    for body in ({"spec": spec}, {"spec": {"resourceAttributes": spec}},
                 {"spec": {"nonResourceAttributes": spec, "user": extra}}, {"spec": extra}):
        try:
            reviews.self_subject_access_review(body, user, CHAIN)
            reviews.subject_access_review(body, CHAIN)
            reviews.self_subject_rules_review(body, user, RBAC.rules_for)
            reviews.token_review(body, [BOOTSTRAP, SERVICE_ACCOUNTS], [ISSUER])
        except reviews.ReviewInvalid:
            pass


@FUZZ
@given(st.sampled_from(["ClusterRole", "Role", "RoleBinding", "ClusterRoleBinding"]),
       json_values, json_values, json_values)
def test_malformed_rbac_objects_never_break_decisions(kind: str, rules: Any, subjects: Any,
                                                      ref: Any) -> None:
    rbac = RBACAuthorizer()
    rbac.load([{"kind": kind, "metadata": {"name": "x", "namespace": "ns"}, "rules": rules,
                "subjects": subjects, "roleRef": ref if isinstance(ref, dict) else {},
                "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"a": "b"}}]}}])
    rbac.authorize(request_attributes(ANONYMOUS, "GET", "/api/v1/namespaces/ns/pods"))
    rbac.rules_for(ANONYMOUS, "ns")
