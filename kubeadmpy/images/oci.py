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
import importlib.util
import io
import json
import platform
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from kubeadmpy.files import write_file
from kubeadmpy.images.bytecode import compiled_pyc

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
# containerd names an imported image after this annotation of the index entry.
CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
FIXED_MTIME = 0  # every tar entry and the gzip header; digests depend on nothing but content
_CHUNK = 1 << 20
_PYC_TAG = f"{sys.implementation.cache_tag}-{importlib.util.MAGIC_NUMBER.hex()}"

_OCI_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
                      "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}

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
    compile_as: str = ""  # set: the content is the byte code of `source`, compiled as this path

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
    architecture: str = field(default_factory=lambda: oci_architecture())
    os: str = "linux"
    # Plain tar layers cost no CPU to write and are only imported locally: the big
    # control-plane image uses them; small images stay gzip like any registry image.
    compressed: bool = True


def oci_architecture(machine: str = "") -> str:
    """This machine's architecture as OCI names it (``x86_64`` → ``amd64``)."""
    machine = machine or platform.machine()
    return _OCI_ARCHITECTURES.get(machine, machine)


def normalized(entries: Iterable[Entry]) -> list[Entry]:
    """Entries sorted by path with every missing parent directory added; last entry wins."""
    by_path: dict[str, Entry] = {}
    for entry in entries:
        path = entry.path.strip("/")
        if not path or ".." in path.split("/"):
            raise ValueError(f"image entry path {entry.path!r} must be relative and stay inside")
        by_path[path] = Entry(path, entry.kind, entry.mode, entry.data, entry.source,
                              entry.target, entry.compile_as)
    for path in list(by_path):
        parent = path.rpartition("/")[0]
        while parent and parent not in by_path:
            by_path[parent] = Entry.directory(parent)
            parent = parent.rpartition("/")[0]
    # Sorting by path parts puts every directory before its contents.
    return [by_path[path] for path in sorted(by_path, key=lambda p: p.split("/"))]


def tar_info(entry: Entry, size: int) -> tarfile.TarInfo:
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


def entry_bytes(entry: Entry) -> bytes | None:
    """The content of a file entry given inline or computed (None: source does not compile)."""
    if entry.compile_as:
        assert entry.source is not None
        try:
            return compiled_pyc(entry.source.read_bytes(), entry.compile_as)
        except (SyntaxError, ValueError):
            return None  # e.g. a test fixture in Python 2 syntax: ship the source alone
    assert entry.data is not None
    return entry.data


def write_layer_tar(entries: Sequence[Entry], out: IO[bytes]) -> None:
    """The uncompressed layer tar of `entries` (already `normalized`) into `out`."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            if entry.kind != "file":
                tar.addfile(tar_info(entry, 0))
            elif entry.data is not None or entry.compile_as:
                data = entry_bytes(entry)
                if data is not None:
                    tar.addfile(tar_info(entry, len(data)), io.BytesIO(data))
            else:
                assert entry.source is not None, f"{entry.path}: a file needs data or source"
                with entry.source.open("rb") as handle:
                    size = entry.source.stat().st_size
                    tar.addfile(tar_info(entry, size), handle)


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


def json_bytes(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def json_blob(document: object, media_type: str) -> Blob:
    data = json_bytes(document)
    return Blob(f"sha256:{hashlib.sha256(data).hexdigest()}", len(data), media_type, data=data)


def write_layer(entries: Sequence[Entry], workdir: Path, compresslevel: int | None
                 ) -> tuple[Blob, str]:
    """Write one layer into `workdir` (gzip unless `compresslevel` is None); blob and diff id."""
    handle, name = tempfile.mkstemp(prefix="layer.", dir=workdir)
    with open(handle, "wb") as raw:
        written = _HashingWriter(raw)
        if compresslevel is None:
            write_layer_tar(entries, written)  # type: ignore[arg-type]
            return Blob(written.digest, written.size, MEDIA_LAYER_TAR, path=Path(name)), \
                written.digest
        with gzip.GzipFile(filename="", mode="wb", fileobj=written,
                           mtime=FIXED_MTIME, compresslevel=compresslevel) as gz:
            uncompressed = _HashingWriter(gz)  # type: ignore[arg-type]
            write_layer_tar(entries, uncompressed)  # type: ignore[arg-type]
    return Blob(written.digest, written.size, MEDIA_LAYER_GZIP, path=Path(name)), \
        uncompressed.digest


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


def layer_content_keys(recipe: ImageRecipe, hashes: FileHashes | None = None) -> list[str]:
    """One digest per layer of what it would contain (paths, modes, targets, contents).

    Computed from the entries, not from written tars, so a cache hit costs hashing source
    files only; `hashes` remembers file digests by (size, mtime, inode) between runs.
    """
    hashes = hashes or FileHashes()
    keys = []
    for layer in recipe.layers:
        key = hashlib.sha256(f"compressed={recipe.compressed}\n".encode())
        for entry in normalized(layer):
            if entry.kind != "file":
                content = ""
            elif entry.source is not None:
                content = hashes.digest(entry.source)
                if entry.compile_as:
                    content = f"pyc {_PYC_TAG} {entry.compile_as} {content}"
            else:
                assert entry.data is not None
                content = hashlib.sha256(entry.data).hexdigest()
            key.update(f"{entry.path}\0{entry.kind}\0{entry.mode:o}\0{entry.target}\0"
                       f"{content}\n".encode())
        keys.append(key.hexdigest())
    return keys


def recipe_content_key(recipe: ImageRecipe, layer_keys: Sequence[str]) -> str:
    """A digest of the whole image: equal keys mean equal images."""
    return hashlib.sha256(json_bytes({
        "reference": recipe.reference, "os": recipe.os, "arch": recipe.architecture,
        "config": config_document(recipe, []), "layers": list(layer_keys),
    })).hexdigest()


class FileHashes:
    """sha256 of host files, remembered by (size, mtime_ns, inode) like git's index."""

    def __init__(self, memo_file: Path | None = None) -> None:
        self.memo_file = memo_file
        self._memo: dict[str, list[object]] = {}
        self._dirty = False
        if memo_file is not None:
            try:
                loaded = json.loads(memo_file.read_text())
                self._memo = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._memo = {}

    def digest(self, path: Path) -> str:
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        known = self._memo.get(str(path))
        if known is not None and known[:3] == stamp:
            return str(known[3])
        sha = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                sha.update(chunk)
        self._memo[str(path)] = [*stamp, sha.hexdigest()]
        self._dirty = True
        return sha.hexdigest()

    def save(self) -> None:
        if self.memo_file is None or not self._dirty:
            return
        # Atomic: two builds sharing a cache never read a half-written memo.
        write_file(self.memo_file, json.dumps(self._memo, separators=(",", ":")))
        self._dirty = False
