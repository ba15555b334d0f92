"""OCI archives: reproducible digests, a layout containerd accepts, content-keyed caching."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import marshal
import random
import tarfile
from pathlib import Path

import pytest

from kubeadmpy.images import catalog
from kubeadmpy.images.bytecode import compiled_pyc
from kubeadmpy.images.layout import build_layout, write_archive, write_layout_tar
from kubeadmpy.images.oci import (
    CONTAINERD_NAME_ANNOTATION,
    MEDIA_LAYER_GZIP,
    MEDIA_LAYER_TAR,
    Entry,
    FileHashes,
    ImageConfig,
    ImageRecipe,
    layer_content_keys,
    normalized,
    recipe_content_key,
)
from kubeadmpy.render.versions import parse_kubernetes_version


def sample_recipe(tmp_path: Path, *, compressed: bool = True, script: bytes = b"echo hi\n",
                  shuffle_seed: int | None = None) -> ImageRecipe:
    source = tmp_path / "tool"
    if not source.exists():
        source.write_bytes(b"#!/bin/sh\nexit 0\n")
        source.chmod(0o755)
    entries = [
        Entry.file("etc/motd", b"hello\n"),
        Entry.file("usr/bin/run.sh", script, 0o755),
        Entry.copy("usr/bin/tool", source),
        Entry.symlink("bin", "usr/bin"),
        Entry.directory("tmp", 0o1777),
    ]
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(entries)
    return ImageRecipe("kubeadmpy.local/sample:1.0", (tuple(entries),),
                       ImageConfig(entrypoint=("/usr/bin/run.sh",)), compressed=compressed)


def read_layout(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()  # type: ignore[union-attr]
                if m.isfile()}


def blob(files: dict[str, bytes], digest: str) -> bytes:
    return files[f"blobs/sha256/{digest.removeprefix('sha256:')}"]


def test_the_same_input_gives_byte_identical_archives(tmp_path: Path) -> None:
    first = write_archive(sample_recipe(tmp_path), tmp_path / "a" / "image.tar")
    second = write_archive(sample_recipe(tmp_path), tmp_path / "b" / "image.tar")
    assert first == second
    assert (tmp_path / "a" / "image.tar").read_bytes() == (tmp_path / "b" / "image.tar").read_bytes()


def test_entry_order_does_not_change_the_digest(tmp_path: Path) -> None:
    ordered = write_archive(sample_recipe(tmp_path), tmp_path / "a.tar")
    shuffled = write_archive(sample_recipe(tmp_path, shuffle_seed=7), tmp_path / "b.tar")
    assert ordered.manifest_digest == shuffled.manifest_digest


def test_a_source_file_touched_keeps_the_digest_but_new_content_changes_it(tmp_path: Path) -> None:
    before = write_archive(sample_recipe(tmp_path), tmp_path / "a.tar")
    tool = tmp_path / "tool"
    tool.touch()
    assert write_archive(sample_recipe(tmp_path), tmp_path / "b.tar") == before
    tool.write_bytes(b"#!/bin/sh\nexit 1\n")
    assert write_archive(sample_recipe(tmp_path), tmp_path / "c.tar").manifest_digest != \
        before.manifest_digest


def test_the_layout_names_the_image_for_containerd_and_digests_match_content(
        tmp_path: Path) -> None:
    built = write_archive(sample_recipe(tmp_path), tmp_path / "image.tar")
    files = read_layout(tmp_path / "image.tar")
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    (entry,) = index["manifests"]
    assert entry["annotations"][CONTAINERD_NAME_ANNOTATION] == "kubeadmpy.local/sample:1.0"
    assert entry["digest"] == built.manifest_digest
    assert entry["platform"] == {"architecture": "amd64", "os": "linux"}
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    manifest = json.loads(blob(files, built.manifest_digest))
    config = json.loads(blob(files, manifest["config"]["digest"]))
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == MEDIA_LAYER_GZIP
    uncompressed = gzip.decompress(blob(files, layer["digest"]))
    assert config["rootfs"]["diff_ids"] == [f"sha256:{hashlib.sha256(uncompressed).hexdigest()}"]
    assert config["config"]["Entrypoint"] == ["/usr/bin/run.sh"]
    assert "created" not in config


def test_layer_entries_are_owned_by_root_with_fixed_times_and_parents_first(
        tmp_path: Path) -> None:
    built = write_archive(sample_recipe(tmp_path), tmp_path / "image.tar")
    files = read_layout(tmp_path / "image.tar")
    manifest = json.loads(blob(files, built.manifest_digest))
    layer = blob(files, manifest["layers"][0]["digest"])
    assert layer[4:8] == b"\0\0\0\0"  # gzip header mtime
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names.index("usr") < names.index("usr/bin") < names.index("usr/bin/run.sh")
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
    modes = {m.name: m.mode for m in members}
    assert modes["usr/bin/run.sh"] == 0o755 and modes["tmp"] == 0o1777
    assert modes["usr/bin/tool"] == 0o755  # copied files keep their permission bits


def test_uncompressed_layers_use_the_plain_tar_media_type(tmp_path: Path) -> None:
    built = write_archive(sample_recipe(tmp_path, compressed=False), tmp_path / "image.tar")
    files = read_layout(tmp_path / "image.tar")
    (layer,) = json.loads(blob(files, built.manifest_digest))["layers"]
    assert layer["mediaType"] == MEDIA_LAYER_TAR
    assert f"{layer['digest']}" == built.diff_ids[0]


@pytest.mark.parametrize("path", ["../escape", "a/../../b", "/"], ids=[
    "a parent reference is refused", "a nested parent reference is refused",
    "the root itself is refused"])
def test_entries_may_not_leave_the_image_root(path: str) -> None:
    with pytest.raises(ValueError, match="relative"):
        normalized([Entry.file(path, b"")])


def test_missing_parent_directories_are_added() -> None:
    entries = normalized([Entry.file("a/b/c.txt", b"x")])
    assert [(e.path, e.kind) for e in entries] == [("a", "dir"), ("a/b", "dir"),
                                                   ("a/b/c.txt", "file")]


def test_content_keys_follow_content_not_file_times(tmp_path: Path) -> None:
    hashes = FileHashes(tmp_path / "hashes.json")
    recipe = sample_recipe(tmp_path)
    key = recipe_content_key(recipe, layer_content_keys(recipe, hashes))
    hashes.save()
    (tmp_path / "tool").touch()
    again = FileHashes(tmp_path / "hashes.json")
    assert recipe_content_key(recipe, layer_content_keys(recipe, again)) == key
    changed = sample_recipe(tmp_path, script=b"echo bye\n")
    assert recipe_content_key(changed, layer_content_keys(changed, again)) != key


def test_cached_layers_are_reused_and_stream_the_same_archive_as_a_fresh_build(
        tmp_path: Path) -> None:
    recipe = sample_recipe(tmp_path)
    keys = layer_content_keys(recipe)
    cache = tmp_path / "layers"
    first = build_layout(recipe, cache, keys)
    (layer_file,) = cache.glob("*.layer")
    written_at = layer_file.stat().st_mtime_ns
    second = build_layout(recipe, cache, keys)
    assert layer_file.stat().st_mtime_ns == written_at  # reused, not written again
    assert first == second
    streamed = io.BytesIO()
    write_layout_tar(second, streamed)
    write_archive(recipe, tmp_path / "fresh.tar")
    assert streamed.getvalue() == (tmp_path / "fresh.tar").read_bytes()


def test_compiled_byte_code_runs_and_names_the_image_path() -> None:
    pyc = compiled_pyc(b"answer = 6 * 7\n", "opt/app/mod.py")
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, unchecked
    code = marshal.loads(pyc[16:])
    namespace: dict[str, object] = {}
    exec(code, namespace)
    assert namespace["answer"] == 42
    assert code.co_filename == "/opt/app/mod.py"


UPSTREAM_133 = [
    "registry.k8s.io/kube-apiserver:v1.33.1",
    "registry.k8s.io/kube-controller-manager:v1.33.1",
    "registry.k8s.io/kube-scheduler:v1.33.1",
    "registry.k8s.io/kube-proxy:v1.33.1",
    "registry.k8s.io/coredns/coredns:v1.12.0",
    "registry.k8s.io/pause:3.10",
    "registry.k8s.io/etcd:3.5.21-0",
]


def test_upstream_image_list_matches_kubeadm_for_1_33() -> None:
    images = catalog.images_for("upstream", parse_kubernetes_version("v1.33.1"),
                                "registry.k8s.io")
    assert [i.reference for i in images] == UPSTREAM_133
    assert not any(i.local for i in images)


def test_python_image_list_names_the_local_control_plane_and_pause_images() -> None:
    images = catalog.images_for("python", parse_kubernetes_version("v1.29.4"), "registry.k8s.io")
    assert [(i.reference, i.local) for i in images] == [
        (catalog.CONTROL_PLANE_IMAGE, True), ("kubeadmpy.local/pause:3.9", True)]
