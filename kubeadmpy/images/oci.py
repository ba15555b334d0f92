"""Deterministic OCI image archives, written without a registry or a container engine.

No registry is reachable from a node, so every image kubeadmpy runs (pause, the test busybox, the
control-plane image) is assembled here from files on the host: gzip tar layers, an image config,
a manifest and an ``index.json`` in an OCI image layout, packed as one tar that
``ctr images import`` accepts. Everything that could vary between two builds of the same files
(mtimes, owners, entry order, gzip header) is pinned, so the same input always gives the same
digests; the cache in `kubeadmpy.images.store` relies on that.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
# containerd names an imported image after this annotation of the index entry.
CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
FIXED_MTIME = 0  # every tar entry and the gzip header; digests depend on nothing but content
_CHUNK = 1 << 20

EntryKind = Literal["file", "dir", "symlink"]


@dataclass(frozen=True)
class Entry:
    """One file system entry of a layer: `path` is relative to the image root."""

    path: str
    kind: EntryKind
    mode: int = 0o755
    data: bytes | None = None  # file content given inline ...
    source: Path | None = None  # ... or read from this host file when the layer is written
    target: str = ""  # symlink target

    @staticmethod
    def directory(path: str, mode: int = 0o755) -> Entry:
        return Entry(path, "dir", mode)

    @staticmethod
    def file(path: str, data: bytes, mode: int = 0o644) -> Entry:
        return Entry(path, "file", mode, data=data)

    @staticmethod
    def copy(path: str, source: Path, mode: int | None = None) -> Entry:
        """A host file copied in, keeping its permission bits unless `mode` is given."""
        bits = source.stat().st_mode & 0o7777 if mode is None else mode
        return Entry(path, "file", bits, source=source)

    @staticmethod
    def symlink(path: str, target: str) -> Entry:
        return Entry(path, "symlink", 0o777, target=target)


@dataclass(frozen=True)
class ImageConfig:
    """The runtime part of the OCI image config (what `config` holds in the JSON)."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
    working_dir: str = "/"
    user: str = ""
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ImageRecipe:
    """Everything an image is built from: its name, its layers (bottom first) and its config."""

    reference: str  # e.g. kubeadmpy.local/pause:3.10
    layers: tuple[tuple[Entry, ...], ...]
    config: ImageConfig = field(default_factory=ImageConfig)
    architecture: str = "amd64"
    os: str = "linux"


def normalized(entries: Iterable[Entry]) -> list[Entry]:
    """Entries sorted by path with every missing parent directory added; last entry wins."""
    by_path: dict[str, Entry] = {}
    for entry in entries:
        path = entry.path.strip("/")
        if not path or ".." in path.split("/"):
            raise ValueError(f"image entry path {entry.path!r} must be relative and stay inside")
        by_path[path] = Entry(path, entry.kind, entry.mode, entry.data, entry.source, entry.target)
    for path in list(by_path):
        parent = path.rpartition("/")[0]
        while parent and parent not in by_path:
            by_path[parent] = Entry.directory(parent)
            parent = parent.rpartition("/")[0]
    # Sorting by path parts puts every directory before its contents.
    return [by_path[path] for path in sorted(by_path, key=lambda p: p.split("/"))]


def _tar_info(entry: Entry, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(entry.path)
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = entry.mode
    if entry.kind == "dir":
        info.type = tarfile.DIRTYPE
    elif entry.kind == "symlink":
        info.type = tarfile.SYMTYPE
        info.linkname = entry.target
    else:
        info.type = tarfile.REGTYPE
        info.size = size
    return info


def write_layer_tar(entries: Sequence[Entry], out: IO[bytes]) -> None:
    """The uncompressed layer tar of `entries` (already `normalized`) into `out`."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            if entry.kind != "file":
                tar.addfile(_tar_info(entry, 0))
            elif entry.data is not None:
                tar.addfile(_tar_info(entry, len(entry.data)), io.BytesIO(entry.data))
            else:
                assert entry.source is not None, f"{entry.path}: a file needs data or source"
                with entry.source.open("rb") as handle:
                    size = entry.source.stat().st_size
                    tar.addfile(_tar_info(entry, size), handle)


class _HashingWriter(io.RawIOBase):
    """A write-only stream that hashes and counts what passes through, optionally forwarding it."""

    def __init__(self, forward: IO[bytes] | None = None) -> None:
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._forward = forward

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.sha256.update(data)
        self.size += len(data)
        if self._forward is not None:
            self._forward.write(data)
        return len(data)

    @property
    def digest(self) -> str:
        return f"sha256:{self.sha256.hexdigest()}"


def layer_diff_id(entries: Sequence[Entry]) -> str:
    """The digest of the uncompressed layer: cheap (no compression), the content cache key."""
    sink = _HashingWriter()
    write_layer_tar(entries, sink)  # type: ignore[arg-type]
    return sink.digest


@dataclass(frozen=True)
class Blob:
    """A content-addressed file of the layout."""

    digest: str
    size: int
    media_type: str
    path: Path | None = None  # large blobs stay in a temp file ...
    data: bytes = b""  # ... small JSON blobs in memory

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def _json_bytes(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _json_blob(document: object, media_type: str) -> Blob:
    data = _json_bytes(document)
    return Blob(f"sha256:{hashlib.sha256(data).hexdigest()}", len(data), media_type, data=data)


def _gzip_layer(entries: Sequence[Entry], workdir: Path, compresslevel: int) -> tuple[Blob, str]:
    """Write one gzip layer into `workdir`; returns the blob and the layer's diff id."""
    handle, name = tempfile.mkstemp(prefix="layer.", dir=workdir)
    with open(handle, "wb") as raw:
        compressed = _HashingWriter(raw)
        with gzip.GzipFile(filename="", mode="wb", fileobj=compressed,
                           mtime=FIXED_MTIME, compresslevel=compresslevel) as gz:
            uncompressed = _HashingWriter(gz)  # type: ignore[arg-type]
            write_layer_tar(entries, uncompressed)  # type: ignore[arg-type]
    blob = Blob(compressed.digest, compressed.size, MEDIA_LAYER_GZIP, path=Path(name))
    return blob, uncompressed.digest


def config_document(recipe: ImageRecipe, diff_ids: Sequence[str]) -> dict[str, object]:
    """The OCI image config JSON (no creation time: it would change every digest)."""
    runtime: dict[str, object] = {"Env": list(recipe.config.env),
                                  "WorkingDir": recipe.config.working_dir}
    if recipe.config.entrypoint:
        runtime["Entrypoint"] = list(recipe.config.entrypoint)
    if recipe.config.cmd:
        runtime["Cmd"] = list(recipe.config.cmd)
    if recipe.config.user:
        runtime["User"] = recipe.config.user
    if recipe.config.labels:
        runtime["Labels"] = dict(recipe.config.labels)
    return {
        "architecture": recipe.architecture,
        "os": recipe.os,
        "config": runtime,
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created_by": "kubeadmpy.images"} for _ in diff_ids],
    }


@dataclass(frozen=True)
class BuiltArchive:
    """The digests of an image packed into `archive` by `write_archive`."""

    reference: str
    manifest_digest: str
    config_digest: str  # the image id the CRI reports
    diff_ids: tuple[str, ...]
    size: int  # compressed layers + config + manifest


def _tar_blob(tar: tarfile.TarFile, blob: Blob) -> None:
    entry = Entry(f"blobs/sha256/{blob.digest.removeprefix('sha256:')}", "file", 0o644)
    if blob.path is not None:
        with blob.path.open("rb") as handle:
            tar.addfile(_tar_info(entry, blob.size), handle)
    else:
        tar.addfile(_tar_info(entry, blob.size), io.BytesIO(blob.data))


def _tar_bytes(tar: tarfile.TarFile, path: str, data: bytes) -> None:
    tar.addfile(_tar_info(Entry(path, "file", 0o644), len(data)), io.BytesIO(data))


def write_archive(recipe: ImageRecipe, archive: Path, compresslevel: int = 6) -> BuiltArchive:
    """Build `recipe` into an OCI layout tar at `archive` (replaced atomically)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build.", dir=archive.parent) as scratch:
        layers = [_gzip_layer(normalized(layer), Path(scratch), compresslevel)
                  for layer in recipe.layers]
        diff_ids = tuple(diff_id for _, diff_id in layers)
        config = _json_blob(config_document(recipe, diff_ids), MEDIA_CONFIG)
        manifest = _json_blob({
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": config.descriptor(),
            "layers": [blob.descriptor() for blob, _ in layers],
        }, MEDIA_MANIFEST)
        tag = recipe.reference.rpartition(":")[2]
        index = {
            "schemaVersion": 2,
            "mediaType": MEDIA_INDEX,
            "manifests": [{
                **manifest.descriptor(),
                "annotations": {CONTAINERD_NAME_ANNOTATION: recipe.reference,
                                REF_NAME_ANNOTATION: tag},
                "platform": {"architecture": recipe.architecture, "os": recipe.os},
            }],
        }
        partial = Path(scratch) / "image.tar"
        with tarfile.open(partial, mode="w", format=tarfile.PAX_FORMAT) as tar:
            _tar_bytes(tar, "oci-layout", _json_bytes({"imageLayoutVersion": "1.0.0"}))
            _tar_bytes(tar, "index.json", _json_bytes(index))
            for folder in ("blobs", "blobs/sha256"):
                tar.addfile(_tar_info(Entry.directory(folder), 0))
            for blob in sorted([config, manifest, *(b for b, _ in layers)],
                               key=lambda b: b.digest):
                _tar_blob(tar, blob)
        partial.replace(archive)
    size = config.size + manifest.size + sum(blob.size for blob, _ in layers)
    return BuiltArchive(recipe.reference, manifest.digest, config.digest, diff_ids, size)


def recipe_content_key(recipe: ImageRecipe) -> str:
    """A digest of everything the image would contain: equal keys mean equal images."""
    summary = {
        "reference": recipe.reference,
        "platform": [recipe.os, recipe.architecture],
        "config": config_document(recipe, [layer_diff_id(normalized(layer))
                                           for layer in recipe.layers]),
    }
    return hashlib.sha256(_json_bytes(summary)).hexdigest()


def iter_archive_names(archive: Path) -> Iterator[str]:
    """The member names of a packed image (for checks and tests)."""
    with tarfile.open(archive) as tar:
        yield from tar.getnames()
