"""Build images once and import them into containerd once: the content-hash cache.

`init` runs on every node and may run again after `reset`; rebuilding the control-plane image
(thousands of files) or re-importing it each time would dominate its wall time. Layers are
cached under /var/lib/kubeadmpy/images/layers keyed by the digest of their content (paths,
modes, file contents), so a changed file rebuilds only its layer, and an image record names the
layers and holds the small JSON documents. An import is skipped when containerd already holds
the image name at the same manifest digest; otherwise the layout tar is streamed into
``ctr images import -`` (no packed copy on disk), into the ``k8s.io`` namespace the CRI plugin
reads.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.files import write_file
from kubeadmpy.images.layout import Layout, build_layout, write_layout_tar
from kubeadmpy.images.oci import (
    MEDIA_CONFIG,
    MEDIA_MANIFEST,
    Blob,
    FileHashes,
    ImageRecipe,
    layer_content_keys,
    recipe_content_key,
)
from kubeadmpy.paths import HostPaths

IMAGE_CACHE_DIR = PurePosixPath("/var/lib/kubeadmpy/images")
CRI_NAMESPACE = "k8s.io"
DEFAULT_CONTAINERD_ADDRESS = "/run/containerd/containerd.sock"
CTR_TIMEOUT_SECONDS = 300
LAYER_CACHE = "layers"  # one file per layer content key, shared by the images' rebuilds
FILE_HASHES = "file-hashes.json"  # digests of source files by (size, mtime, inode)
RECORD_SUFFIX = ".image.json"


class ImageImportError(KubeadmpyError):
    """containerd refused or could not be asked to import an image."""


@dataclass(frozen=True)
class CachedImage:
    """An image whose layers are in the cache, and its digests."""

    reference: str
    content_key: str
    manifest_digest: str
    config_digest: str  # the image id the CRI reports
    size: int
    cache_hit: bool
    layout: Layout


@dataclass(frozen=True)
class ImageResult:
    """What `ensure_image` did for one image."""

    image: CachedImage
    imported: bool  # False: containerd already had it at this digest


def _record_path(cache_dir: Path, reference: str) -> Path:
    return cache_dir / (re.sub(r"[^A-Za-z0-9_.-]+", "_", reference) + RECORD_SUFFIX)


def _from_record(record: dict[str, object], layer_dir: Path) -> Layout | None:
    """The layout a record describes, None if any of its layers left the cache."""
    layers = []
    for key in record["layer_keys"]:  # type: ignore[attr-defined]
        meta = json.loads((layer_dir / f"{key}.json").read_text())
        blob = layer_dir / f"{key}.layer"
        if not blob.is_file() or blob.stat().st_size != meta["size"]:
            return None
        layers.append((Blob(meta["digest"], meta["size"], meta["media_type"], path=blob),
                       meta["diff_id"]))
    manifest = str(record["manifest"]).encode()
    config = str(record["config"]).encode()
    return Layout(
        str(record["reference"]), str(record["index"]).encode(),
        Blob(str(record["manifest_digest"]), len(manifest), MEDIA_MANIFEST, data=manifest),
        Blob(str(record["config_digest"]), len(config), MEDIA_CONFIG, data=config),
        tuple(blob for blob, _ in layers), tuple(diff_id for _, diff_id in layers))


def build_cached(recipe: ImageRecipe, cache_dir: Path) -> CachedImage:
    """`recipe`'s image, built only when its content is not in the cache yet."""
    hashes = FileHashes(cache_dir / FILE_HASHES)
    layer_keys = layer_content_keys(recipe, hashes)
    hashes.save()
    key = recipe_content_key(recipe, layer_keys)
    record_path = _record_path(cache_dir, recipe.reference)
    layer_dir = cache_dir / LAYER_CACHE
    try:
        record = json.loads(record_path.read_text())
        if record.get("content_key") == key:
            layout = _from_record(record, layer_dir)
            if layout is not None:
                return CachedImage(recipe.reference, key, layout.manifest.digest,
                                   layout.config.digest, layout.size, True, layout)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # no record, or a damaged one: build below
    layout = build_layout(recipe, layer_dir, layer_keys)
    record = {
        "reference": recipe.reference, "content_key": key, "layer_keys": layer_keys,
        "manifest_digest": layout.manifest.digest, "config_digest": layout.config.digest,
        "index": layout.index.decode(), "manifest": layout.manifest.data.decode(),
        "config": layout.config.data.decode(),
    }
    write_file(record_path, json.dumps(record, indent=2, sort_keys=True) + "\n")
    _prune_layers(cache_dir)
    return CachedImage(recipe.reference, key, layout.manifest.digest, layout.config.digest,
                       layout.size, False, layout)


def _prune_layers(cache_dir: Path) -> None:
    """Drop cached layers no image record uses any more."""
    used: set[str] = set()
    for record in cache_dir.glob(f"*{RECORD_SUFFIX}"):
        try:
            used.update(json.loads(record.read_text()).get("layer_keys", []))
        except (OSError, ValueError, AttributeError):
            continue
    for path in (cache_dir / LAYER_CACHE).glob("*"):
        if path.name.split(".")[0] not in used:
            path.unlink(missing_ok=True)


def _ctr(address: str, *args: str) -> str:
    command = ["ctr", "--address", address, "--namespace", CRI_NAMESPACE, *args]
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=CTR_TIMEOUT_SECONDS)
    except FileNotFoundError as exc:
        raise ImageImportError("ctr not found: install the Debian package containerd") from exc
    except subprocess.TimeoutExpired as exc:
        raise ImageImportError(f"{' '.join(command)} did not finish within "
                               f"{CTR_TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ImageImportError(f"{' '.join(command)} failed: "
                               f"{detail[-1] if detail else f'exit {done.returncode}'}")
    return done.stdout


def containerd_image_digests(address: str) -> dict[str, str]:
    """Image name → manifest (target) digest, as containerd's k8s.io namespace holds them."""
    digests: dict[str, str] = {}
    for line in _ctr(address, "images", "ls").splitlines()[1:]:
        columns = line.split()
        if len(columns) >= 3 and columns[2].startswith("sha256:"):
            digests[columns[0]] = columns[2]
    return digests


def import_image(image: CachedImage, address: str, *, force: bool = False) -> bool:
    """Import `image` into containerd unless it is there at the same digest; True if imported."""
    if not force and containerd_image_digests(address).get(image.reference) == \
            image.manifest_digest:
        return False
    command = ["ctr", "--address", address, "--namespace", CRI_NAMESPACE, "images", "import",
               "-"]
    # stderr goes to a file, not a pipe: nobody reads it while the tar is being written.
    with tempfile.TemporaryFile() as errors, subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors) as ctr:
        assert ctr.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # ctr gave up: its stderr says why
            write_layout_tar(image.layout, ctr.stdin)
        with contextlib.suppress(BrokenPipeError):
            ctr.stdin.close()
        try:
            ctr.wait(timeout=CTR_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as exc:
            ctr.kill()
            raise ImageImportError(f"ctr images import of {image.reference} did not finish "
                                   f"within {CTR_TIMEOUT_SECONDS} s") from exc
        errors.seek(0)
        stderr = errors.read()
    if ctr.returncode != 0:
        detail = stderr.decode(errors="replace").strip().splitlines()
        raise ImageImportError(f"ctr images import of {image.reference} failed: "
                               f"{detail[-1] if detail else f'exit {ctr.returncode}'}")
    if containerd_image_digests(address).get(image.reference) != image.manifest_digest:
        raise ImageImportError(f"{image.reference}: containerd did not list the image at "
                               f"{image.manifest_digest} after the import")
    return True


def ensure_image(recipe: ImageRecipe, paths: HostPaths,
                 address: str = DEFAULT_CONTAINERD_ADDRESS) -> ImageResult:
    """Build (or reuse) the image of `recipe` and make containerd hold it."""
    image = build_cached(recipe, paths.host(IMAGE_CACHE_DIR))
    return ImageResult(image, import_image(image, address))
