"""Supported Kubernetes versions and the image tags kubeadm pairs with them."""

from __future__ import annotations

import pytest

from kubeadmpy.errors import ConfigError
from kubeadmpy.render import parse_kubernetes_version

# `kubeadm config images list` of each x.y.0 release: etcd and pause tags.
KUBEADM_IMAGES = [
    ("v1.27.0", "3.5.7-0", "3.9"),
    ("v1.28.0", "3.5.9-0", "3.9"),
    ("v1.29.0", "3.5.10-0", "3.9"),
    ("v1.30.0", "3.5.12-0", "3.9"),
    ("v1.31.0", "3.5.15-0", "3.10"),
    ("v1.32.0", "3.5.16-0", "3.10"),
    ("v1.33.0", "3.5.21-0", "3.10"),
]


@pytest.mark.parametrize(("version", "etcd", "pause"), KUBEADM_IMAGES,
                         ids=[case[0] for case in KUBEADM_IMAGES])
def test_each_supported_minor_has_kubeadms_etcd_and_pause_tags(version: str, etcd: str,
                                                              pause: str) -> None:
    parsed = parse_kubernetes_version(version)
    assert (parsed.etcd_image_tag, parsed.pause_image_tag) == (etcd, pause)


@pytest.mark.parametrize(("text", "tag"), [
    ("1.33.2", "v1.33.2"),
    ("v1.31.0-rc.1", "v1.31.0-rc.1"),
    ("v1.30.4+k3s1", "v1.30.4_k3s1"),
], ids=["without-v", "pre-release", "build-metadata-becomes-underscore"])
def test_versions_become_image_tags_as_kubeadm_writes_them(text: str, tag: str) -> None:
    assert parse_kubernetes_version(text).tag == tag


@pytest.mark.parametrize("text", ["v1.26.15", "v1.34.0", "v2.0.0", "stable", "1.33"])
def test_unsupported_or_malformed_versions_are_refused(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_kubernetes_version(text)
    assert caught.value.field == "kubernetesVersion"
    assert "v1.27" in caught.value.fix or "v1.33" in caught.value.fix
