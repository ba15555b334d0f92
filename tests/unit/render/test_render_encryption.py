"""Encryption at rest in the rendered files: the EncryptionConfiguration itself, and the
kube-apiserver pod that reads it (flag + read-only folder mount), in both flavors and only when
encryption is enabled."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kubeadmpy.errors import ConfigError
from kubeadmpy.render import (
    COMPONENTS,
    ENCRYPTION_CONFIG,
    Arg,
    ComponentExtras,
    ControlPlaneValues,
    EncryptionValues,
    HostPathMount,
    new_encryption_key,
    render_encryption_config,
    render_static_pod,
)
from kubeadmpy.security import encryption_config

MakeValues = Callable[..., ControlPlaneValues]
CONFIG = str(ENCRYPTION_CONFIG)
FLAG = f"--encryption-provider-config={CONFIG}"
MOUNT = {"mountPath": "/etc/kubernetes/encryption", "name": "encryption-config",
         "readOnly": True}
VOLUME = {"hostPath": {"path": "/etc/kubernetes/encryption", "type": "DirectoryOrCreate"},
          "name": "encryption-config"}
FLAVORS = ("python", "upstream")


def apiserver(values: ControlPlaneValues) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(render_static_pod("kube-apiserver", values).content)
    return loaded


@pytest.mark.parametrize("flavor", FLAVORS)
def test_the_enabled_apiserver_pod_matches_its_golden_file(
        flavor: str, make_control_plane: MakeValues,
        golden: Callable[[str, str], None]) -> None:
    # The same values as the flavor's golden pod without encryption, so the two differ only in
    # the flag, the mount and the volume.
    host = (HostPathMount("python-prefix", "/opt/python", "/opt/python", True, "Directory"),)
    values = make_control_plane(flavor=flavor, encryption_provider_config=CONFIG,
                                extra_host_volumes=host if flavor == "python" else ())
    golden(f"encryption/{flavor}-kube-apiserver.yaml",
           render_static_pod("kube-apiserver", values).content)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_enabled_adds_the_flag_and_a_read_only_mount_of_the_folder(
        flavor: str, make_control_plane: MakeValues) -> None:
    pod = apiserver(make_control_plane(flavor=flavor, encryption_provider_config=CONFIG))
    container = pod["spec"]["containers"][0]
    assert FLAG in container["command"]
    assert MOUNT in container["volumeMounts"]
    assert VOLUME in pod["spec"]["volumes"]
    kubernetes_validate.validate(pod, "1.33", strict=True)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_disabled_leaves_no_trace_in_any_pod(flavor: str, make_control_plane: MakeValues) -> None:
    values = make_control_plane(flavor=flavor)
    for component in COMPONENTS:
        text = render_static_pod(component, values).content
        assert "encryption" not in text, component


@pytest.mark.parametrize("component", ["etcd", "kube-controller-manager", "kube-scheduler"])
def test_enabled_changes_only_the_apiserver(component: str,
                                            make_control_plane: MakeValues) -> None:
    before = render_static_pod(component, make_control_plane())
    after = render_static_pod(component, make_control_plane(encryption_provider_config=CONFIG))
    assert after == before


def test_a_users_extra_arg_wins_over_the_flag_and_the_folder_stays_mounted(
        make_control_plane: MakeValues) -> None:
    extra = ComponentExtras(extra_args=(Arg("encryption-provider-config", "/etc/enc/mine.yaml"),))
    pod = apiserver(make_control_plane(encryption_provider_config=CONFIG, api_server=extra))
    command = pod["spec"]["containers"][0]["command"]
    assert [w for w in command if "encryption-provider-config" in w] == [
        "--encryption-provider-config=/etc/enc/mine.yaml"]
    assert VOLUME in pod["spec"]["volumes"]


@pytest.mark.parametrize("path", ["encryption.yaml", "/etc/kubernetes/encryption/"])
def test_a_path_that_is_not_an_absolute_file_is_refused(path: str,
                                                        make_control_plane: MakeValues) -> None:
    with pytest.raises(ConfigError, match=r"encryptionProviderConfig: .* is not an absolute file"):
        render_static_pod("kube-apiserver", make_control_plane(encryption_provider_config=path))


# --- the EncryptionConfiguration ------------------------------------------------------------


@pytest.mark.parametrize("provider", ["aescbc", "aesgcm", "secretbox"])
def test_the_config_holds_one_key1_for_the_provider_then_identity(provider: str) -> None:
    key = new_encryption_key()
    rendered = render_encryption_config(
        EncryptionValues(provider, ("secrets", "configmaps", "deployments.apps"), key))
    assert rendered.mode == 0o600
    parsed = encryption_config.parse(yaml.safe_load(rendered.content))
    (entry,) = parsed.entries
    assert entry.resources == ("secrets", "configmaps", "deployments.apps")
    assert [p.kind for p in entry.providers] == [provider, "identity"]
    assert [(k.name, k.secret) for k in entry.providers[0].keys] == [("key1", key)]
    assert encryption_config.providers_for(parsed, "deployments.apps")[0].kind == provider


def test_the_config_matches_its_golden_file(golden: Callable[[str, str], None]) -> None:
    key = bytes(range(32))  # a fixed key so the file is stable; real keys come from the CSPRNG
    rendered = render_encryption_config(EncryptionValues("secretbox", ("secrets",), key))
    golden("encryption/config.yaml", rendered.content)
    assert base64.b64encode(key).decode() in rendered.content


def test_every_key_is_32_fresh_bytes() -> None:
    keys = {new_encryption_key() for _ in range(8)}
    assert len(keys) == 8 and {len(k) for k in keys} == {32}
