"""Which images a cluster needs, by name, and the recipes of those kubeadmpy builds itself.

`kubeadmpy config images list` prints `images_for`: for the upstream flavor exactly kubeadm's
list for the Kubernetes version; for the python flavor the locally built control-plane and pause
images. `kubeadmpy config images pull` builds and imports the local ones (`local_recipes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kubeadmpy import __version__
from kubeadmpy.images.oci import ImageConfig, ImageRecipe
from kubeadmpy.images.rootfs import (
    PAUSE_ENTRYPOINT,
    busybox_entries,
    busybox_version,
    find_busybox,
    pause_entries,
)
from kubeadmpy.render.versions import KubernetesVersion

LOCAL_REGISTRY = "kubeadmpy.local"
CONTROL_PLANE_IMAGE = f"{LOCAL_REGISTRY}/control-plane:v{__version__}"
DEFAULT_PAUSE_TAG = "3.10"

# kubeadm's CoreDNS version per Kubernetes minor (constants.CoreDNSVersion).
COREDNS_TAGS: dict[int, str] = {
    27: "v1.10.1", 28: "v1.10.1", 29: "v1.11.1", 30: "v1.11.3", 31: "v1.11.3", 32: "v1.11.3",
    33: "v1.12.0",
}

Flavor = Literal["python", "upstream"]


def pause_reference(tag: str = DEFAULT_PAUSE_TAG) -> str:
    return f"{LOCAL_REGISTRY}/pause:{tag}"


def busybox_reference(busybox: Path | None = None) -> str:
    return f"{LOCAL_REGISTRY}/busybox:{busybox_version(busybox or find_busybox())}"


def pause_recipe(tag: str = DEFAULT_PAUSE_TAG, busybox: Path | None = None) -> ImageRecipe:
    """The sandbox image: busybox plus /pause, which exits on SIGTERM/SIGINT."""
    return ImageRecipe(pause_reference(tag), (tuple(pause_entries(busybox)),),
                       ImageConfig(entrypoint=(PAUSE_ENTRYPOINT,)))


def busybox_recipe(busybox: Path | None = None) -> ImageRecipe:
    """A small test image: busybox, ``sh`` as the default command."""
    binary = busybox or find_busybox()
    return ImageRecipe(busybox_reference(binary), (tuple(busybox_entries(binary)),),
                       ImageConfig(cmd=("sh",)))


@dataclass(frozen=True)
class ImageListEntry:
    """One line of `config images list`, and whether kubeadmpy builds it locally."""

    reference: str
    local: bool


def images_for(flavor: Flavor, version: KubernetesVersion, image_repository: str,
               control_plane_image: str = CONTROL_PLANE_IMAGE) -> list[ImageListEntry]:
    """The images a control-plane node of this flavor and version runs, in kubeadm's order."""
    if flavor == "python":
        return [ImageListEntry(control_plane_image, True),
                ImageListEntry(pause_reference(version.pause_image_tag), True)]
    repo = image_repository.rstrip("/")
    tag = version.tag
    images = [f"{repo}/{name}:{tag}" for name in
              ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")]
    images += [f"{repo}/coredns/coredns:{COREDNS_TAGS[version.minor]}",
               f"{repo}/pause:{version.pause_image_tag}",
               f"{repo}/etcd:{version.etcd_image_tag}"]
    return [ImageListEntry(reference, False) for reference in images]
