"""Build images once and import them into containerd once: the content-hash cache.

`init` runs on every node and may run again after `reset`; rebuilding the control-plane image
(hundreds of files, gzip) or re-importing it each time would dominate its wall time. An archive
is cached under /var/lib/kubeadmpy/images keyed by the digest of its content (the uncompressed
layers and the config), so changed files give a new key and unchanged files a cache hit; an
import is skipped when containerd already holds the image name at the same manifest digest.
Imports go through ``ctr`` (shipped with containerd), into the ``k8s.io`` namespace the CRI
plugin reads.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.files import write_file
from kubeadmpy.images.oci import (
    BuiltArchive,
    FileHashes,
    ImageRecipe,
    layer_content_keys,
    recipe_content_key,
    write_archive,
)
from kubeadmpy.paths import HostPaths

IMAGE_CACHE_DIR = PurePosixPath("/var/lib/kubeadmpy/images")
CRI_NAMESPACE = "k8s.io"
DEFAULT_CONTAINERD_ADDRESS = "/run/containerd/containerd.sock"
CTR_TIMEOUT_SECONDS = 300
LAYER_CACHE = "layers"  # one file per layer content key, shared by the images' rebuilds
FILE_HASHES = "file-hashes.json"  # digests of source files by (size, mtime, inode)


class ImageImportError(KubeadmpyError):
    """containerd refused or could not be asked to import an image."""


@dataclass(frozen=True)
class CachedImage:
    """An image archive in the cache and its digests."""

    reference: str
    content_key: str
    archive: Path
    manifest_digest: str
    config_digest: str
    size: int
    cache_hit: bool


@dataclass(frozen=True)
class ImageResult:
    """What `ensure_image` did for one image."""

    image: CachedImage
    imported: bool  # False: containerd already had it at this digest


def _cache_stem(reference: str, content_key: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", reference)
    return f"{safe}-{content_key[:16]}"


def build_cached(recipe: ImageRecipe, cache_dir: Path) -> CachedImage:
    """The archive of `recipe`, built only when no archive with the same content is cached."""
    hashes = FileHashes(cache_dir / FILE_HASHES)
    layer_keys = layer_content_keys(recipe, hashes)
    hashes.save()
    key = recipe_content_key(recipe, layer_keys)
    stem = _cache_stem(recipe.reference, key)
    archive, record = cache_dir / f"{stem}.tar", cache_dir / f"{stem}.json"
    if archive.is_file() and record.is_file():
        try:
            known = json.loads(record.read_text())
            if known.get("content_key") == key:
                return CachedImage(recipe.reference, key, archive, known["manifest_digest"],
                                   known["config_digest"], int(known["size"]), cache_hit=True)
        except (ValueError, KeyError, TypeError):
            pass  # a damaged record: rebuild below
    built: BuiltArchive = write_archive(recipe, archive, layer_cache=cache_dir / LAYER_CACHE,
                                        layer_keys=layer_keys)
    image = CachedImage(recipe.reference, key, archive, built.manifest_digest,
                        built.config_digest, built.size, cache_hit=False)
    fields = {k: v for k, v in asdict(image).items() if k not in ("archive", "cache_hit")}
    fields["layer_keys"] = layer_keys
    write_file(record, json.dumps(fields, indent=2, sort_keys=True) + "\n")
    _remove_stale(cache_dir, recipe.reference, keep=stem)
    _prune_layers(cache_dir)
    return image


def _remove_stale(cache_dir: Path, reference: str, keep: str) -> None:
    """Older archives of the same image name (their content key differs)."""
    prefix = _cache_stem(reference, "")
    for path in cache_dir.glob(f"{prefix}*"):
        if path.stem != keep and path.suffix in (".tar", ".json"):
            path.unlink(missing_ok=True)


def _prune_layers(cache_dir: Path) -> None:
    """Drop cached layers no cached image uses any more."""
    used: set[str] = set()
    for record in cache_dir.glob("*.json"):
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


def import_archive(image: CachedImage, address: str, *, force: bool = False) -> bool:
    """Import `image` into containerd unless it is there at the same digest; True if imported."""
    if not force and containerd_image_digests(address).get(image.reference) == \
            image.manifest_digest:
        return False
    _ctr(address, "images", "import", str(image.archive))
    if containerd_image_digests(address).get(image.reference) != image.manifest_digest:
        raise ImageImportError(f"{image.reference}: containerd did not list the image at "
                               f"{image.manifest_digest} after importing {image.archive}")
    return True


def ensure_image(recipe: ImageRecipe, paths: HostPaths,
                 address: str = DEFAULT_CONTAINERD_ADDRESS) -> ImageResult:
    """Build (or reuse) the archive of `recipe` and make containerd hold it."""
    image = build_cached(recipe, paths.host(IMAGE_CACHE_DIR))
    return ImageResult(image, import_archive(image, address))
