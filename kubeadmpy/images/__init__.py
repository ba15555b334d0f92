"""Local OCI images for nodes without a registry: pause, a busybox test image, the control plane.

Public names: recipes (`pause_recipe`, `busybox_recipe`, `control_plane_recipe`), `images_for`
(what `config images list` prints), the cache and import (`build_cached`, `import_image`,
`ensure_image`), and the OCI building blocks (`Entry`, `ImageRecipe`, `ImageConfig`,
`write_archive`).
"""

from __future__ import annotations

from kubeadmpy.images.catalog import (
    CONTROL_PLANE_IMAGE,
    LOCAL_REGISTRY,
    ImageListEntry,
    busybox_recipe,
    busybox_reference,
    images_for,
    pause_recipe,
    pause_reference,
)
from kubeadmpy.images.layout import BuiltArchive, Layout, write_archive
from kubeadmpy.images.node import TimedImage, ensure_python_flavor_images
from kubeadmpy.images.oci import Entry, ImageConfig, ImageRecipe
from kubeadmpy.images.store import (
    IMAGE_CACHE_DIR,
    CachedImage,
    ImageImportError,
    ImageResult,
    build_cached,
    containerd_image_digests,
    ensure_image,
    import_image,
)

__all__ = [
    "CONTROL_PLANE_IMAGE",
    "IMAGE_CACHE_DIR",
    "LOCAL_REGISTRY",
    "BuiltArchive",
    "CachedImage",
    "Entry",
    "ImageConfig",
    "ImageImportError",
    "ImageListEntry",
    "ImageRecipe",
    "ImageResult",
    "Layout",
    "TimedImage",
    "build_cached",
    "busybox_recipe",
    "busybox_reference",
    "containerd_image_digests",
    "ensure_image",
    "ensure_python_flavor_images",
    "images_for",
    "import_image",
    "pause_recipe",
    "pause_reference",
    "write_archive",
]
