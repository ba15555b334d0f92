"""The images a control-plane node of the python flavor needs, made present in containerd.

One call for the init workflow (before the kubelet starts the static pods) and for
``kubeadmpy config images pull``: build or reuse the control-plane and pause images and import
them into containerd when it does not hold them at the same digest. Timings are returned so
callers can show where `init` spends its time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kubeadmpy.images.catalog import CONTROL_PLANE_IMAGE, pause_recipe
from kubeadmpy.images.controlplane import control_plane_recipe
from kubeadmpy.images.oci import ImageRecipe
from kubeadmpy.images.store import DEFAULT_CONTAINERD_ADDRESS, ImageResult, ensure_image
from kubeadmpy.paths import HostPaths


@dataclass(frozen=True)
class TimedImage:
    """One image made present, and how long that took."""

    result: ImageResult
    seconds: float

    @property
    def summary(self) -> str:
        """``<name>: built|cached, imported|already present (<digest>)``."""
        image = self.result.image
        how = "cached" if image.cache_hit else "built"
        done = "imported" if self.result.imported else "already present"
        return f"{image.reference}: {how}, {done} ({image.manifest_digest[:19]})"


def ensure_python_flavor_images(paths: HostPaths, pause_tag: str,
                                address: str = DEFAULT_CONTAINERD_ADDRESS,
                                control_plane_image: str = CONTROL_PLANE_IMAGE
                                ) -> list[TimedImage]:
    """Control-plane image, then pause image, each built or reused and imported if needed."""
    socket = address.removeprefix("unix://")
    recipes: list[Callable[[], ImageRecipe]] = [
        lambda: control_plane_recipe(control_plane_image), lambda: pause_recipe(pause_tag)]
    done = []
    for recipe_of in recipes:
        started = time.perf_counter()  # recipe included: collecting the files is part of it
        result = ensure_image(recipe_of(), paths, socket)
        done.append(TimedImage(result, time.perf_counter() - started))
    return done
