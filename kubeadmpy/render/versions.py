"""Kubernetes versions the renderer supports, and what changes with them.

Upstream manifests depend on the target minor: the etcd image tag kubeadm pairs with it and,
from 1.31, the etcd probe endpoints (/livez, /readyz, which need etcd >= 3.5.11). Keeping those
facts in one table lets the golden tests pin each supported minor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubeadmpy.errors import ConfigError

MIN_MINOR = 27
MAX_MINOR = 33

# kubeadm's constants.SupportedEtcdVersion as shipped in each x.y.0 release. Later patch releases
# sometimes bumped the tag (e.g. 1.31-1.33 moved to 3.5.24-0); a user who needs a specific tag
# sets etcd.local.imageTag, exactly as with kubeadm.
ETCD_IMAGE_TAGS: dict[int, str] = {
    27: "3.5.7-0",
    28: "3.5.9-0",
    29: "3.5.10-0",
    30: "3.5.12-0",
    31: "3.5.15-0",
    32: "3.5.16-0",
    33: "3.5.21-0",
}

# kubeadm's constants.PauseVersion per minor: the sandbox image kubeadm passes to the kubelet
# (--pod-infra-container-image) and that containerd's sandbox_image should name.
PAUSE_IMAGE_TAGS: dict[int, str] = {
    27: "3.9", 28: "3.9", 29: "3.9", 30: "3.9", 31: "3.10", 32: "3.10", 33: "3.10",
}

# kubeadm switched the etcd probes to /livez and /readyz in 1.31 (kubernetes PR 124465).
ETCD_LIVEZ_PROBES_SINCE_MINOR = 31

_VERSION = re.compile(r"v?(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(?P<extra>[-+][0-9A-Za-z.+-]*)?")


@dataclass(frozen=True)
class KubernetesVersion:
    """A parsed ``vMAJOR.MINOR.PATCH[-pre][+build]`` version."""

    major: int
    minor: int
    patch: int
    extra: str = ""

    @property
    def tag(self) -> str:
        """The image tag kubeadm uses: ``v`` prefix, ``+`` (not allowed in tags) as ``_``."""
        return f"v{self.major}.{self.minor}.{self.patch}{self.extra}".replace("+", "_")

    @property
    def etcd_image_tag(self) -> str:
        return ETCD_IMAGE_TAGS[self.minor]

    @property
    def pause_image_tag(self) -> str:
        return PAUSE_IMAGE_TAGS[self.minor]

    @property
    def etcd_has_livez(self) -> bool:
        return self.minor >= ETCD_LIVEZ_PROBES_SINCE_MINOR


def parse_kubernetes_version(text: str, field: str = "kubernetesVersion") -> KubernetesVersion:
    """Parse and range-check a Kubernetes version; errors name `field` and the supported range."""
    match = _VERSION.fullmatch(text.strip())
    supported = f"v1.{MIN_MINOR}.0 to v1.{MAX_MINOR}.x"
    if not match:
        raise ConfigError(field, f"{text!r} is not a version", f"write it like v1.{MAX_MINOR}.0")
    version = KubernetesVersion(int(match["major"]), int(match["minor"]), int(match["patch"]),
                                match["extra"] or "")
    if version.major != 1 or not MIN_MINOR <= version.minor <= MAX_MINOR:
        raise ConfigError(field, f"{text!r} is not supported", f"use a version from {supported}")
    return version
