"""SecurityStack from upstream flags: wiring, and refusing to start on unusable inputs."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from security_testkit import ObjectTable, pod, resource_request, user

from kubeadmpy.errors import ConfigError, PKIError, UserInputError
from kubeadmpy.security.authn import Credentials
from kubeadmpy.security.node_restriction import AdmissionDenied, AdmissionRequest
from kubeadmpy.security.stack import SecuritySettings, build_stack

ISSUER = "https://kubernetes.default.svc.cluster.local"


def test_flags_become_settings() -> None:
    settings = SecuritySettings.from_flags({
        "client-ca-file": "/etc/kubernetes/pki/ca.crt", "anonymous-auth": "false",
        "enable-bootstrap-token-auth": "true",
        "service-account-issuer": [ISSUER, "https://old"],
        "service-account-key-file": "/etc/kubernetes/pki/sa.pub",
        "authorization-mode": "Node,RBAC",
        "enable-admission-plugins": "NodeRestriction,NamespaceLifecycle,LimitRanger"})
    assert settings.anonymous_auth is False and settings.enable_bootstrap_token_auth
    assert settings.service_account_issuers == (ISSUER, "https://old")
    assert settings.authorization_modes == ("Node", "RBAC")
    # upstream's order whatever the flag's; plugins not implemented here are left out;
    # NamespaceLifecycle, LimitRanger, ServiceAccount, Priority, DefaultTolerationSeconds and
    # ResourceQuota are on unless disabled, as upstream (kubeadm's manifest names only
    # NodeRestriction)
    assert settings.admission_plugins == ("NamespaceLifecycle", "LimitRanger", "ServiceAccount",
                                          "NodeRestriction", "Priority",
                                          "DefaultTolerationSeconds", "ResourceQuota")
    assert SecuritySettings.from_flags({"enable-admission-plugins": "NodeRestriction"}) \
        .admission_plugins == settings.admission_plugins
    disabled = SecuritySettings.from_flags({"disable-admission-plugins": (
        "NamespaceLifecycle,LimitRanger,ServiceAccount,Priority,DefaultTolerationSeconds,"
        "ResourceQuota")})
    assert disabled.admission_plugins == ()
    assert SecuritySettings.from_flags({}).authorization_modes == ("AlwaysAllow",)


@pytest.mark.parametrize(("flags", "field"), [
    ({"anonymous-auth": "maybe"}, "--anonymous-auth"),
    ({"authorization-mode": "Node,ABAC"}, "--authorization-mode"),
    ({"authorization-mode": "RBAC,Magic"}, "--authorization-mode"),
    ({"authorization-mode": "RBAC,RBAC"}, "--authorization-mode"),
    ({"enable-admission-plugins": "NodeRestrictoin"}, "--enable-admission-plugins"),
    ({"disable-admission-plugins": "Magic"}, "--disable-admission-plugins"),
], ids=["a non-boolean anonymous-auth", "an unsupported mode", "an unknown mode",
        "a repeated mode", "a misspelt plugin", "an unknown plugin to disable"])
def test_bad_flags_name_the_flag(flags: dict[str, str], field: str) -> None:
    with pytest.raises(UserInputError) as caught:
        SecuritySettings.from_flags(flags)
    assert caught.value.field == field


def test_a_misspelt_admission_plugin_gets_a_suggestion() -> None:
    with pytest.raises(UserInputError, match='Did you mean "NodeRestriction"'):
        SecuritySettings.from_flags({"enable-admission-plugins": "NodeRestrictoin"})


def test_upstream_plugins_not_built_here_are_accepted_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    settings = SecuritySettings.from_flags(
        {"enable-admission-plugins": "NodeRestriction,PodSecurity,AlwaysPullImages"})
    assert settings.unimplemented_admission == ("PodSecurity", "AlwaysPullImages")
    assert "PodSecurity" not in settings.admission_plugins
    with caplog.at_level("WARNING"):
        build_stack(settings, ObjectTable())
    assert "admission plugin PodSecurity is not implemented" in caplog.text
    assert "admission plugin AlwaysPullImages is not implemented" in caplog.text


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "sa.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (tmp_path / "sa.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return tmp_path


def test_a_wired_stack_issues_and_accepts_tokens_and_restricts_nodes(keys: Path) -> None:
    objects = ObjectTable()
    objects.add("serviceaccounts", {"metadata": {"namespace": "ns", "name": "default",
                                                 "uid": "sa"}})
    objects.add("pods", pod("ns", "web", "node-a"))
    stack = build_stack(SecuritySettings(
        service_account_issuers=(ISSUER,), service_account_key_files=(str(keys / "sa.pub"),),
        service_account_signing_key_file=str(keys / "sa.key"),
        authorization_modes=("Node", "RBAC"), admission_plugins=("NodeRestriction",)), objects)
    sa = objects.get("serviceaccounts", "ns", "default")
    assert sa is not None
    answer = stack.token_request({"spec": {"boundObjectRef": {"kind": "Pod", "name": "web"}}},
                                 "ns", sa)
    result = stack.authenticate(Credentials(
        authorization=f"Bearer {answer['status']['token']}"))
    assert result.user is not None and result.user.name == "system:serviceaccount:ns:default"
    assert stack.authenticate(Credentials()).user is not None  # anonymous by default
    kubelet = user("system:node:node-a", "system:nodes")
    assert stack.authorize(resource_request(kubelet, "get", "nodes", "", "node-a")).allowed
    with pytest.raises(AdmissionDenied):
        stack.admit(AdmissionRequest(kubelet, "DELETE", "nodes", name="node-b"))
    rules = stack.self_subject_rules_review({"spec": {"namespace": "ns"}}, kubelet)
    assert {"verbs": ["patch", "update"], "apiGroups": [""], "resources": ["nodes/status"]} \
        in rules["status"]["resourceRules"]


def write_encryption(path: Path, secret: str) -> Path:
    path.write_text("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
                    "resources:\n- resources: [secrets]\n  providers:\n"
                    f"  - aesgcm:\n      keys:\n      - name: k\n        secret: {secret}\n")
    return path


@pytest.mark.parametrize(("settings", "error"), [
    (lambda d: SecuritySettings(client_ca_file=str(d / "missing.crt")), PKIError),
    (lambda d: SecuritySettings(service_account_issuers=(ISSUER,)), UserInputError),
    (lambda d: SecuritySettings(service_account_issuers=(ISSUER,),
                                service_account_key_files=(str(d / "sa.key.missing"),)),
     PKIError),
    (lambda d: SecuritySettings(encryption_provider_config=str(
        write_encryption(d / "enc.yaml", "short"))), ConfigError),
], ids=["a missing client CA", "an issuer without keys", "a missing key file",
        "an encryption key that does not decode to 16, 24 or 32 bytes"])
def test_the_stack_refuses_to_start_on_unusable_files(keys: Path, settings: Any,
                                                      error: type[Exception]) -> None:
    with pytest.raises(error):
        build_stack(settings(keys), ObjectTable())


def test_encryption_is_wired_from_the_flag(keys: Path) -> None:
    secret = base64.b64encode(b"x" * 32).decode()
    stack = build_stack(SecuritySettings(encryption_provider_config=str(
        write_encryption(keys / "enc.yaml", secret))), ObjectTable())
    assert stack.encryption.for_resource("secrets").encrypts
    assert not stack.encryption.for_resource("configmaps").encrypts
