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
# The providers `secretsEncryption.provider` may name: upstream's local-key providers (kms needs
# a plugin we do not run). kubespray's kube_encryption_algorithm takes the same names.
SECRETS_ENCRYPTION_PROVIDERS = ("aescbc", "aesgcm", "secretbox")
DEFAULT_SECRETS_ENCRYPTION_PROVIDER = "secretbox"  # kubespray's default, and upstream's advice
DEFAULT_SECRETS_ENCRYPTION_RESOURCES = ("secrets",)

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
    """Encryption at rest in etcd: init writes an EncryptionConfiguration with one random key.

    `resources` is optional (None: the default, Secrets) so that an explicit empty list can be
    told apart from an absent one and rejected instead of silently encrypting nothing.
    """

    enabled: bool | None = None
    provider: str = ""
    resources: list[str] | None = None


@dataclass(kw_only=True)
class KubeadmpyConfiguration:
    KIND: ClassVar[str] = "KubeadmpyConfiguration"

    control_plane_flavor: str = ""
    network: NetworkOptions = field(default_factory=NetworkOptions)
    storage: StorageOptions = field(default_factory=StorageOptions)
    secrets_encryption: SecretsEncryption = field(default_factory=SecretsEncryption)
