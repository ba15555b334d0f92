"""Our own config kind, KubeadmpyConfiguration (kubeadmpy.io/v1alpha1).

It holds what kubeadm has no field for because kubeadm leaves it to other tools: which control
plane to run (our Python one or upstream binaries), the pod network (flannel VXLAN, installed by
init), the CSI storage plugin, and Secret encryption at rest. It sits in the same multi-document
file as the kubeadm kinds, so one file describes a whole cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

GROUP = "kubeadmpy.io"
API_VERSION = f"{GROUP}/v1alpha1"

CONTROL_PLANE_FLAVORS = ("python", "upstream")
NETWORK_PLUGINS = ("flannel",)
FLANNEL_BACKENDS = ("vxlan",)
CSI_PLUGINS = ("hostpath", "none")

# Flannel's own defaults: VNI 1 and the Linux kernel's VXLAN port 8472.
DEFAULT_FLANNEL_VNI = 1
DEFAULT_FLANNEL_PORT = 8472


@dataclass(kw_only=True)
class FlannelOptions:
    backend: str = ""
    vni: int | None = None
    port: int | None = None
    mtu: int | None = None  # None: derived from the node's default interface minus VXLAN overhead


@dataclass(kw_only=True)
class NetworkOptions:
    plugin: str = ""
    flannel: FlannelOptions = field(default_factory=FlannelOptions)


@dataclass(kw_only=True)
class StorageOptions:
    csi_plugin: str = ""


@dataclass(kw_only=True)
class SecretsEncryption:
    """Encryption at rest of Secrets in etcd; the security work fills in providers and keys."""

    enabled: bool | None = None


@dataclass(kw_only=True)
class KubeadmpyConfiguration:
    KIND: ClassVar[str] = "KubeadmpyConfiguration"

    control_plane_flavor: str = ""
    network: NetworkOptions = field(default_factory=NetworkOptions)
    storage: StorageOptions = field(default_factory=StorageOptions)
    secrets_encryption: SecretsEncryption = field(default_factory=SecretsEncryption)
