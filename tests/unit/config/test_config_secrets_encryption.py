"""`secretsEncryption` in KubeadmpyConfiguration: kubespray's defaults (secretbox, Secrets),
printed by `config print init-defaults`, and every bad value named by its field path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from kubeadmpy.config import dump_documents, init_defaults, load_init_config
from kubeadmpy.config.netutil import NodeFacts
from kubeadmpy.errors import ConfigError

OURS = "apiVersion: kubeadmpy.io/v1alpha1\nkind: KubeadmpyConfiguration\n"
WHERE = "kubeadm.yaml, document 1 (KubeadmpyConfiguration): secretsEncryption"


def test_without_the_field_encryption_is_off_with_kubespray_defaults_ready(
        facts: NodeFacts) -> None:
    encryption = load_init_config(None, facts=facts).kubeadmpy.secrets_encryption
    assert (encryption.enabled, encryption.provider, encryption.resources) == (
        False, "secretbox", ["secrets"])


def test_enabled_alone_encrypts_secrets_with_secretbox(facts: NodeFacts) -> None:
    encryption = load_init_config(None, text=OURS + "secretsEncryption: {enabled: true}\n",
                                  facts=facts).kubeadmpy.secrets_encryption
    assert (encryption.enabled, encryption.provider, encryption.resources) == (
        True, "secretbox", ["secrets"])


def test_given_provider_and_resources_are_kept(facts: NodeFacts) -> None:
    text = OURS + ("secretsEncryption: {enabled: true, provider: aesgcm, "
                   "resources: [secrets, configmaps, deployments.apps]}\n")
    encryption = load_init_config(None, text=text, facts=facts).kubeadmpy.secrets_encryption
    assert (encryption.provider, encryption.resources) == (
        "aesgcm", ["secrets", "configmaps", "deployments.apps"])


def test_an_empty_resource_list_is_fine_while_disabled(facts: NodeFacts) -> None:
    text = OURS + "secretsEncryption: {enabled: false, resources: []}\n"
    encryption = load_init_config(None, text=text, facts=facts).kubeadmpy.secrets_encryption
    assert encryption.resources == []


def test_init_defaults_print_the_fields_and_load_back() -> None:
    printed = dump_documents(init_defaults())
    ours = next(d for d in yaml.safe_load_all(printed) if d["kind"] == "KubeadmpyConfiguration")
    assert ours["secretsEncryption"] == {"enabled": False, "provider": "secretbox",
                                         "resources": ["secrets"]}


def test_the_cli_prints_the_fields() -> None:
    result = subprocess.run(["kubeadmpy", "config", "print", "init-defaults"],
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert ("secretsEncryption:\n  enabled: false\n  provider: secretbox\n  resources:\n"
            "  - secrets\n") in result.stdout


BAD = {
    "unknown provider": ("{enabled: true, provider: rot13}",
                         ".provider: 'rot13' is not supported. Use one of 'aescbc', 'aesgcm', "
                         "'secretbox'"),
    "kms is not offered": ("{provider: kms}", ".provider: 'kms' is not supported"),
    "identity would encrypt nothing": ("{provider: identity}",
                                       ".provider: 'identity' is not supported"),
    "provider checked also when disabled": ("{enabled: false, provider: AESGCM}",
                                            ".provider: 'AESGCM' is not supported"),
    "empty resources when enabled": ("{enabled: true, resources: []}",
                                     ".resources: is empty, so nothing would be encrypted"),
    "capitalised resource": ("{enabled: true, resources: [Secrets]}",
                             ".resources[0]: 'Secrets' is not a resource name. Use the "
                             "lower-case plural name"),
    "kind instead of resource": ("{resources: [secrets, Deployment.apps]}",
                                 ".resources[1]: 'Deployment.apps' is not a resource name"),
    "bad group": ("{resources: [deployments.Apps]}",
                  ".resources[0]: 'deployments.Apps' is not a resource name"),
    "empty group": ("{resources: ['deployments.']}",
                    ".resources[0]: 'deployments.' is not a resource name"),
    "wildcard": ("{resources: ['*.*']}", ".resources[0]: '*.*' is not a resource name"),
    "path instead of name": ("{resources: [api/v1/secrets]}",
                             ".resources[0]: 'api/v1/secrets' is not a resource name"),
    "listed twice": ("{resources: [secrets, configmaps, secrets]}",
                     ".resources[2]: 'secrets' is listed twice. List each resource once"),
    "resources as a string": ("{resources: secrets}",
                              ".resources: expected a list, got string 'secrets'"),
    "resource as a number": ("{resources: [1]}", ".resources[0]: expected a string, got number 1"),
    "enabled as a string": ("{enabled: 'yes'}",
                            ".enabled: expected true or false, got string 'yes'"),
    "kubespray's variable name": ("{enabled: true, algorithm: aesgcm}",
                                  ".algorithm: unknown field. Known fields here: enabled, "
                                  "provider, resources"),
    "misspelt field": ("{enabled: true, resource: [secrets]}",
                       '.resource: unknown field. Did you mean "resources"?'),
}


@pytest.mark.parametrize(("value", "expected"), BAD.values(), ids=list(BAD))
def test_a_bad_value_is_named_by_its_field(value: str, expected: str, facts: NodeFacts,
                                           tmp_path: Path) -> None:
    path = tmp_path / "kubeadm.yaml"
    path.write_text(OURS + f"secretsEncryption: {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_init_config(path, facts=facts)
    assert f"{WHERE}{expected}" in str(caught.value)
