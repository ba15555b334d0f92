"""The control-plane image of the python flavor, built from the running interpreter and package.

The image is self-contained (see docs/decisions/control-plane-image.md for the measurements
behind that choice): a busybox base, the interpreter with the shared libraries it and the
extension modules link (found with ``ldd``), a trimmed standard library, the distributions
kubeadmpy requires, kubeadmpy itself with its templates, one launcher script per console entry
point and Debian's etcd. Python lives at /opt/kubeadmpy whatever the host's prefix is, so the
same static pod manifests work on every machine.

Byte code is compiled into the image as unchecked hash-based .pyc files (PEP 552): valid
whatever the file mtimes are, identical for identical sources, and the components never write
byte code at start-up.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from kubeadmpy.images.catalog import CONTROL_PLANE_IMAGE
from kubeadmpy.images.oci import Entry, ImageConfig, ImageRecipe
from kubeadmpy.images.rootfs import ImageSourceError, busybox_entries

IMAGE_PREFIX = "opt/kubeadmpy"
# On the dynamic loader's default search path (Debian's multiarch folder, e.g. x86_64-linux-gnu).
LIB_DIR = f"lib/{sysconfig.get_config_var('MULTIARCH') or 'x86_64-linux-gnu'}"
SCRIPT_DIR = "usr/local/bin"
PROJECT = "kubeadmpy"
ETCD_BINARY = Path("/usr/bin/etcd")
# kubeadmpy-proxy and kubeadmpy-flanneld program nftables through the nft command (addon pods).
NFT_BINARY = Path("/usr/sbin/nft")
# Parts of the standard library no component imports: tests, GUI, build-time files.
STDLIB_SKIP = frozenset({
    "site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3",
    "__pycache__", "pydoc_data", "unittest/test", "ctypes/test", "distutils/tests",
    "sqlite3/test", "tkinter/test",
})
_CONFIG_DIR = re.compile(r"^config-\d+\.\d+")
# kubernetes-validate ships ~100 MB in ~18,000 JSON files; the components read only each
# version's _definitions.json (kubeadmpy.machinery.schema.definitions). The rest would make the
# image 3x larger and its import into containerd 3x slower.
_SKIP_DATA = {
    "kubernetes-validate": re.compile(
        r"^kubernetes_validate/kubernetes-json-schema/(?!v[\d.]+-local/_definitions\.json$)"),
}
_NORMALIZE = re.compile(r"[-_.]+")


def _dist_key(name: str) -> str:
    return _NORMALIZE.sub("-", name).lower()


def _editable_project(dist: metadata.Distribution) -> dict[str, Any] | None:
    """The [project] table of an editable install's pyproject.toml, None for a normal install.

    An editable install's metadata is frozen at install time, while the source tree (its
    imports and its entry points) moves on; the project file is the truth for such a checkout.
    """
    try:
        origin = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return None
    url = str(origin.get("url", ""))
    if not (origin.get("dir_info", {}).get("editable") and url.startswith("file://")):
        return None
    try:
        project = tomllib.loads((Path(url.removeprefix("file://")) / "pyproject.toml").read_text())
        table = project["project"]
    except (OSError, tomllib.TOMLDecodeError, KeyError):
        return None
    return table if isinstance(table, dict) else None


def _requirements(dist: metadata.Distribution) -> list[str]:
    """What `dist` requires (from pyproject.toml for an editable install)."""
    project = _editable_project(dist)
    if project is not None:
        return [str(r) for r in project.get("dependencies", [])]
    return list(dist.requires or [])


def console_scripts() -> dict[str, str]:
    """kubeadmpy's console scripts, name → ``module:function``."""
    dist = metadata.distribution(PROJECT)
    project = _editable_project(dist)
    if project is not None:
        return {str(k): str(v) for k, v in project.get("scripts", {}).items()}
    return {point.name: point.value for point in dist.entry_points
            if point.group == "console_scripts"}


def requirement_closure(root: str = PROJECT) -> list[metadata.Distribution]:
    """The installed distributions `root` needs at run time (no extras), `root` excluded."""
    found: dict[str, metadata.Distribution] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency that is not installed
        key = _dist_key(dist.metadata["Name"])
        if key in found:
            continue
        found[key] = dist
        for text in _requirements(dist):
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    found.pop(_dist_key(root), None)
    return [found[key] for key in sorted(found)]


def _python_file_entries(source: Path, image_path: str) -> Iterator[Entry]:
    """A module's source and its compiled byte code in __pycache__."""
    yield Entry.copy(image_path, source, 0o644)
    if image_path.endswith(".py"):
        folder, _, name = image_path.rpartition("/")
        tag = sys.implementation.cache_tag
        pyc = f"{folder}/__pycache__/{name[:-3]}.{tag}.pyc"
        yield Entry(pyc, "file", 0o644, source=source, compile_as=image_path)


def _tree_entries(root: Path, image_root: str, skip: frozenset[str] = frozenset()
                  ) -> Iterator[Entry]:
    """Everything under `root` except `skip` (relative paths), byte code and build files."""
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        base = here.relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        # Prune in place so skipped trees (the stdlib's site-packages, tests) are never walked.
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and prefix + d not in skip
                         and not _CONFIG_DIR.match(prefix + d))
        for name in [*dirs, *sorted(files)]:
            relative = prefix + name
            path = here / name
            image_path = f"{image_root}/{relative}"
            if path.is_symlink():
                yield Entry.symlink(image_path, str(path.readlink()))
            elif name in dirs:
                yield Entry.directory(image_path)
            elif path.is_file():
                yield from _python_file_entries(path, image_path)


def _site_packages_path() -> str:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return f"{IMAGE_PREFIX}/lib/{version}/site-packages"


def distribution_entries(dists: Iterable[metadata.Distribution]) -> Iterator[Entry]:
    """Every installed file of `dists`, placed under the image's site-packages."""
    site = _site_packages_path()
    for dist in dists:
        base = Path(str(dist.locate_file("")))
        skip = _SKIP_DATA.get(_dist_key(dist.metadata["Name"]))
        for file in dist.files or []:
            if skip is not None and skip.match(str(file)):
                continue
            source = Path(str(dist.locate_file(file)))
            relative = Path(str(file))
            if relative.parts[:1] == ("..",) or "__pycache__" in relative.parts or \
                    not source.is_file():
                continue  # scripts outside site-packages, stale byte code
            if not source.is_relative_to(base):
                continue
            yield from _python_file_entries(source, f"{site}/{relative.as_posix()}")


def project_entries() -> Iterator[Entry]:
    """kubeadmpy itself (works for editable installs too) and its templates."""
    import kubeadmpy

    package = Path(kubeadmpy.__file__).parent
    site = _site_packages_path()
    yield from _tree_entries(package, f"{site}/kubeadmpy", frozenset({"_templates"}))
    for templates in (package / "_templates", package.parent / "templates"):
        if templates.is_dir():
            yield from _tree_entries(templates, f"{site}/kubeadmpy/_templates")
            break
    dist = metadata.distribution(PROJECT)
    yield Entry.directory(f"{site}/kubeadmpy-{dist.version}.dist-info")
    for name in ("METADATA", "entry_points.txt"):
        text = dist.read_text(name)
        if text is not None:
            yield Entry.file(f"{site}/kubeadmpy-{dist.version}.dist-info/{name}", text.encode())


def script_entries() -> Iterator[Entry]:
    """One launcher per console script of kubeadmpy (kubeadmpy-apiserver, ...)."""
    interpreter = f"/{IMAGE_PREFIX}/bin/python3"
    for name, target in sorted(console_scripts().items()):
        module, _, attribute = target.partition(":")
        body = (f"#!{interpreter}\nimport sys\nfrom {module} import {attribute}\n"
                f"sys.exit({attribute}())\n")
        yield Entry.file(f"{SCRIPT_DIR}/{name}", body.encode(), 0o755)


def shared_libraries(binaries: Iterable[Path]) -> dict[str, Path]:
    """soname → host file of every library `binaries` load (one ldd call for all)."""
    files = [str(path) for path in binaries]
    listing = subprocess.run(["ldd", *files], check=False, capture_output=True, text=True,
                             timeout=120).stdout
    libraries: dict[str, Path] = {}
    for line in listing.splitlines():
        match = re.match(r"\s*(\S+)\s+=>\s+(/\S+)\s+\(", line)
        if match:
            libraries[match.group(1)] = Path(match.group(2))
        elif "ld-linux" in line:
            loader = line.split()[0]
            if loader.startswith("/"):
                libraries[loader] = Path(loader)
    return libraries


def interpreter_entries(dists: list[metadata.Distribution]) -> Iterator[Entry]:
    """The interpreter, its standard library and every shared library anything links."""
    executable = Path(sys.executable).resolve()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    yield Entry.copy(f"{IMAGE_PREFIX}/bin/{version}", executable, 0o755)
    yield Entry.symlink(f"{IMAGE_PREFIX}/bin/python3", version)
    yield from _tree_entries(stdlib, f"{IMAGE_PREFIX}/lib/{version}", STDLIB_SKIP)
    extensions = list((stdlib / "lib-dynload").glob("*.so"))
    for dist in dists:
        # RECORD read as text: building dist.files objects twice costs ~0.15 s per build.
        record = dist.read_text("RECORD") or ""
        extensions += [Path(str(dist.locate_file(line.split(",", 1)[0])))
                       for line in record.splitlines() if line.split(",", 1)[0].endswith(".so")]
    for soname, host in sorted(shared_libraries([executable, ETCD_BINARY, NFT_BINARY, *extensions]).items()):
        if soname.startswith("/"):
            yield Entry.copy(soname.lstrip("/"), host.resolve(), 0o755)  # the dynamic loader
        elif "site-packages" not in host.parts:  # wheels' vendored libraries come with them
            yield Entry.copy(f"{LIB_DIR}/{soname}", host.resolve(), 0o755)


def control_plane_recipe(reference: str = CONTROL_PLANE_IMAGE) -> ImageRecipe:
    """The recipe: four layers from the most to the least stable."""
    if not ETCD_BINARY.is_file():
        raise ImageSourceError(f"{ETCD_BINARY} not found: install the Debian package "
                               "etcd-server (scripts/setup.sh does)")
    dists = requirement_closure()
    if not NFT_BINARY.is_file():
        raise ImageSourceError(f"{NFT_BINARY} not found: install the Debian package nftables "
                               "(the kube-proxy and flannel addons run it)")
    base = [*busybox_entries(), Entry.copy("usr/local/bin/etcd", ETCD_BINARY, 0o755),
            Entry.copy("usr/sbin/nft", NFT_BINARY, 0o755)]
    runtime = list(interpreter_entries(dists))
    libraries = list(distribution_entries(dists))
    project = [*project_entries(), *script_entries()]
    config = ImageConfig(
        env=(f"PATH=/{SCRIPT_DIR}:/{IMAGE_PREFIX}/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"),
        cmd=("kubeadmpy", "version"),
    )
    return ImageRecipe(reference, (tuple(base), tuple(runtime), tuple(libraries),
                                   tuple(project)), config, compressed=False)
