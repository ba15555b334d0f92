"""An image's OCI layout (index, manifest, config, layers) and the tar stream of it.

The layers are written once (`kubeadmpy.images.oci`), into a per-layer cache when one is given;
the small JSON documents are computed from them here. The layout tar that ``ctr images import``
reads is produced as a stream from those pieces, so a cached image needs no packed copy of its
layers on disk (`write_archive` still packs one into a file for callers that want a file).
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kubeadmpy.files import write_file
from kubeadmpy.images.oci import (
    CONTAINERD_NAME_ANNOTATION,
    MEDIA_CONFIG,
    MEDIA_INDEX,
    MEDIA_MANIFEST,
    REF_NAME_ANNOTATION,
    Blob,
    Entry,
    ImageRecipe,
    config_document,
    json_blob,
    json_bytes,
    normalized,
    tar_info,
    write_layer,
)


@dataclass(frozen=True)
class Layout:
    """Everything of one image: its JSON documents and its layer blobs (bottom first)."""

    reference: str
    index: bytes
    manifest: Blob
    config: Blob
    layers: tuple[Blob, ...]
    diff_ids: tuple[str, ...]

    @property
    def size(self) -> int:
        """Layers + config + manifest, as a registry would count the image."""
        return self.config.size + self.manifest.size + sum(b.size for b in self.layers)


@dataclass(frozen=True)
class BuiltArchive:
    """The digests of an image packed into a file by `write_archive`."""

    reference: str
    manifest_digest: str
    config_digest: str  # the image id the CRI reports
    diff_ids: tuple[str, ...]
    size: int


def assemble(recipe: ImageRecipe, layers: Sequence[tuple[Blob, str]]) -> Layout:
    """The config, manifest and index of `recipe` over already written layers."""
    diff_ids = tuple(diff_id for _, diff_id in layers)
    config = json_blob(config_document(recipe, diff_ids), MEDIA_CONFIG)
    manifest = json_blob({
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": config.descriptor(),
        "layers": [blob.descriptor() for blob, _ in layers],
    }, MEDIA_MANIFEST)
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [{
            **manifest.descriptor(),
            "annotations": {CONTAINERD_NAME_ANNOTATION: recipe.reference,
                            REF_NAME_ANNOTATION: recipe.reference.rpartition(":")[2]},
            "platform": {"architecture": recipe.architecture, "os": recipe.os},
        }],
    }
    return Layout(recipe.reference, json_bytes(index), manifest, config,
                  tuple(blob for blob, _ in layers), diff_ids)


def _add_bytes(tar: tarfile.TarFile, path: str, data: bytes) -> None:
    tar.addfile(tar_info(Entry(path, "file", 0o644), len(data)), io.BytesIO(data))


def write_layout_tar(layout: Layout, out: IO[bytes]) -> None:
    """The OCI layout of `layout` as one tar stream (no seeking: a pipe is fine)."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, "oci-layout", json_bytes({"imageLayoutVersion": "1.0.0"}))
        _add_bytes(tar, "index.json", layout.index)
        for folder in ("blobs", "blobs/sha256"):
            tar.addfile(tar_info(Entry.directory(folder), 0))
        for blob in sorted([layout.config, layout.manifest, *layout.layers],
                           key=lambda b: b.digest):
            entry = Entry(f"blobs/sha256/{blob.digest.removeprefix('sha256:')}", "file", 0o644)
            if blob.path is not None:
                with blob.path.open("rb") as handle:
                    tar.addfile(tar_info(entry, blob.size), handle)
            else:
                tar.addfile(tar_info(entry, blob.size), io.BytesIO(blob.data))


def cached_layer(entries: Sequence[Entry], layer_cache: Path, key: str,
                 level: int | None) -> tuple[Blob, str]:
    """The layer of `key` from `layer_cache`, written there first when missing."""
    blob_path, record_path = layer_cache / f"{key}.layer", layer_cache / f"{key}.json"
    try:
        record = json.loads(record_path.read_text())
        if blob_path.stat().st_size == record["size"]:
            return Blob(record["digest"], record["size"], record["media_type"],
                        path=blob_path), record["diff_id"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    layer_cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".layer.", dir=layer_cache) as scratch:
        blob, diff_id = write_layer(entries, Path(scratch), level)
        assert blob.path is not None
        blob.path.replace(blob_path)
    write_file(record_path, json.dumps({"digest": blob.digest, "size": blob.size,
                                        "media_type": blob.media_type, "diff_id": diff_id}))
    return Blob(blob.digest, blob.size, blob.media_type, path=blob_path), diff_id


def build_layout(recipe: ImageRecipe, layer_cache: Path, layer_keys: Sequence[str],
                 compresslevel: int = 6) -> Layout:
    """Write (or reuse) every layer of `recipe` in `layer_cache`; the resulting layout."""
    level = compresslevel if recipe.compressed else None
    layers = [cached_layer(normalized(layer), layer_cache, key, level)
              for layer, key in zip(recipe.layers, layer_keys, strict=True)]
    return assemble(recipe, layers)


def write_archive(recipe: ImageRecipe, archive: Path, compresslevel: int = 6) -> BuiltArchive:
    """Build `recipe` into an OCI layout tar file at `archive` (replaced atomically)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    level = compresslevel if recipe.compressed else None
    with tempfile.TemporaryDirectory(prefix=".build.", dir=archive.parent) as scratch:
        layers = [write_layer(normalized(layer), Path(scratch), level)
                  for layer in recipe.layers]
        layout = assemble(recipe, layers)
        partial = Path(scratch) / "image.tar"
        with partial.open("wb") as out:
            write_layout_tar(layout, out)
        partial.replace(archive)
    return BuiltArchive(layout.reference, layout.manifest.digest, layout.config.digest,
                        layout.diff_ids, layout.size)
