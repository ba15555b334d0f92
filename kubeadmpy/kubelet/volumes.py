"""Pod volumes on the node: emptyDir, hostPath, configMap, secret, downwardAPI and projected.

Each volume gets upstream's directory, ``<root>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>``,
so tools and people find them where they expect. Data volumes are written with the atomic
writer's layout (files are links through ``..data`` to a timestamped directory that is swapped
in one rename), so a container never sees half an update. `VolumeManager.setup` is idempotent
and re-run on every pod sync, which is how configMap/secret changes reach running pods.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeadmpy.kubelet.env import EnvError, field_value, resource_value

JSONObject = dict[str, Any]
ObjectGetter = Callable[[str, str, str], Awaitable[JSONObject | None]]
# (namespace, service account, pod, audience, expirationSeconds) → token
TokenGetter = Callable[[str, str, JSONObject, str, int], Awaitable[str]]

DEFAULT_MODE = 0o644
DATA_LINK = "..data"


class VolumeError(Exception):
    """A volume cannot be set up (reported as a FailedMount event; the pod waits)."""


@dataclass(frozen=True)
class PodVolumes:
    """Host paths of a pod's volumes by volume name."""

    paths: dict[str, Path]
    read_only: frozenset[str]


def write_atomically(directory: Path, payload: dict[str, tuple[bytes, int]]) -> bool:
    """Make `directory` hold exactly `payload` (relative path → (content, mode)); True when
    anything changed. Readers see either the old or the new set, never a mix."""
    directory.mkdir(parents=True, exist_ok=True)
    current = directory / DATA_LINK
    if current.is_symlink() and _same_payload(current.resolve(), payload):
        return False
    stamp = directory / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    stamp.mkdir(mode=0o755)
    for relative, (content, mode) in payload.items():
        target = stamp / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(mode)
    old = current.resolve() if current.is_symlink() else None
    temporary = directory / "..data_tmp"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(stamp.name)
    os.replace(temporary, current)  # the one step that switches readers to the new set
    top_level = {relative.split("/", 1)[0] for relative in payload}
    for name in top_level:
        link = directory / name
        if not link.is_symlink():
            link.symlink_to(f"{DATA_LINK}/{name}")
    for entry in directory.iterdir():
        if not entry.name.startswith("..") and entry.name not in top_level:
            entry.unlink()
    if old is not None and old.is_dir() and old != stamp:
        shutil.rmtree(old, ignore_errors=True)
    return True


def _same_payload(directory: Path, payload: dict[str, tuple[bytes, int]]) -> bool:
    try:
        found = {str(path.relative_to(directory)) for path in directory.rglob("*")
                 if path.is_file()}
        if found != set(payload):
            return False
        return all((directory / relative).read_bytes() == content and
                   stat.S_IMODE((directory / relative).stat().st_mode) == mode
                   for relative, (content, mode) in payload.items())
    except OSError:
        return False


def _items(data: dict[str, bytes], source: JSONObject, default_mode: int, what: str,
           optional: bool) -> dict[str, tuple[bytes, int]]:
    items = source.get("items")
    if not items:
        return {key: (value, default_mode) for key, value in data.items()}
    payload = {}
    for item in items:
        key = str(item.get("key", ""))
        if key not in data:
            if optional:
                continue
            raise VolumeError(f"{what} references non-existent config key: {key}")
        payload[str(item.get("path") or key)] = (data[key], int(item.get("mode", default_mode)))
    return payload


_HOST_PATH_CHECKS: dict[str, tuple[Callable[[int], bool], str]] = {
    "Directory": (stat.S_ISDIR, "directory"),
    "File": (stat.S_ISREG, "file"),
    "Socket": (stat.S_ISSOCK, "socket"),
    "CharDevice": (stat.S_ISCHR, "character device"),
    "BlockDevice": (stat.S_ISBLK, "block device"),
}


def check_host_path(path: Path, kind: str) -> None:
    """Create or check a hostPath by its type, with upstream's failure text."""
    if kind == "DirectoryOrCreate":
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
        kind = "Directory"
    elif kind == "FileOrCreate":
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o644)
        kind = "File"
    if kind not in _HOST_PATH_CHECKS:
        return
    check, noun = _HOST_PATH_CHECKS[kind]
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise VolumeError(f"hostPath type check failed: {path} is not a {noun}") from exc
    if not check(mode):
        raise VolumeError(f"hostPath type check failed: {path} is not a {noun}")


class VolumeManager:
    """Sets up and tears down the volumes of pods under ``<root>/pods``."""

    def __init__(self, pods_dir: Path, get_object: ObjectGetter, get_token: TokenGetter,
                 node_allocatable: Callable[[], dict[str, str]]) -> None:
        self.pods_dir = pods_dir
        self.get_object = get_object
        self.get_token = get_token
        self.node_allocatable = node_allocatable

    def pod_dir(self, uid: str) -> Path:
        return self.pods_dir / uid

    async def setup(self, pod: JSONObject, pod_ip: str, host_ip: str) -> PodVolumes:
        uid = str(pod["metadata"]["uid"])
        paths: dict[str, Path] = {}
        read_only: set[str] = set()
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            name = str(volume.get("name", ""))
            paths[name] = await self._setup_one(pod, uid, volume, pod_ip, host_ip)
            if any(key in volume for key in ("configMap", "secret", "downwardAPI",
                                             "projected")):
                read_only.add(name)
        return PodVolumes(paths, frozenset(read_only))

    def _dir(self, uid: str, plugin: str, name: str) -> Path:
        return self.pod_dir(uid) / "volumes" / f"kubernetes.io~{plugin}" / name

    async def _setup_one(self, pod: JSONObject, uid: str, volume: JSONObject, pod_ip: str,
                         host_ip: str) -> Path:
        name = str(volume.get("name", ""))
        namespace = str(pod["metadata"].get("namespace", "default"))
        if "hostPath" in volume:
            path = Path(str(volume["hostPath"].get("path", "")))
            check_host_path(path, str(volume["hostPath"].get("type") or ""))
            return path
        if "emptyDir" in volume:
            return self._empty_dir(uid, name, volume["emptyDir"] or {})
        if "configMap" in volume:
            directory = self._dir(uid, "configmap", name)
            write_atomically(directory, await self._object_payload(
                "configmaps", namespace, volume["configMap"]))
            return directory
        if "secret" in volume:
            directory = self._dir(uid, "secret", name)
            source = dict(volume["secret"])
            source["name"] = source.get("secretName", "")
            write_atomically(directory, await self._object_payload("secrets", namespace, source))
            return directory
        if "downwardAPI" in volume:
            directory = self._dir(uid, "downward-api", name)
            write_atomically(directory, self._downward_payload(
                pod, volume["downwardAPI"], pod_ip, host_ip))
            return directory
        if "projected" in volume:
            directory = self._dir(uid, "projected", name)
            write_atomically(directory, await self._projected_payload(
                pod, volume["projected"], pod_ip, host_ip))
            return directory
        kinds = sorted(key for key in volume if key != "name")
        raise VolumeError(f"volume {name!r}: unsupported volume type {', '.join(kinds)}")

    def _empty_dir(self, uid: str, name: str, source: JSONObject) -> Path:
        directory = self._dir(uid, "empty-dir", name)
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o777)
        if source.get("medium") == "Memory" and not os.path.ismount(directory):
            options = "mode=0777"
            if source.get("sizeLimit"):
                options += f",size={_bytes(str(source['sizeLimit']))}"
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs",
                                   str(directory)], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise VolumeError(f"mount tmpfs on {directory}: {done.stderr.strip()}")
        return directory

    async def _object_payload(self, kind: str, namespace: str, source: JSONObject,
                              default_mode: int | None = None) -> dict[str, tuple[bytes, int]]:
        name = str(source.get("name", ""))
        optional = bool(source.get("optional"))
        mode = int(source.get("defaultMode", default_mode if default_mode is not None
                              else DEFAULT_MODE))
        obj = await self.get_object(kind, namespace, name)
        what = "configmap" if kind == "configmaps" else "secret"
        if obj is None:
            if optional:
                return {}
            raise VolumeError(f'{what} "{name}" not found')
        data: dict[str, bytes] = {}
        if kind == "secrets":
            data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
        else:
            data = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
            data.update({k: base64.b64decode(v) for k, v in
                         (obj.get("binaryData") or {}).items()})
        return _items(data, source, mode, what, optional)

    def _downward_payload(self, pod: JSONObject, source: JSONObject, pod_ip: str,
                          host_ip: str, default_mode: int | None = None
                          ) -> dict[str, tuple[bytes, int]]:
        mode = int(source.get("defaultMode", default_mode if default_mode is not None
                              else DEFAULT_MODE))
        payload = {}
        for item in source.get("items") or []:
            try:
                if item.get("fieldRef"):
                    value = field_value(pod, str(item["fieldRef"].get("fieldPath", "")),
                                        pod_ip, host_ip)
                else:
                    value = resource_value(pod, "", item.get("resourceFieldRef") or {},
                                           self.node_allocatable())
            except EnvError as exc:
                raise VolumeError(str(exc)) from exc
            payload[str(item.get("path", ""))] = (value.encode(), int(item.get("mode", mode)))
        return payload

    async def _projected_payload(self, pod: JSONObject, source: JSONObject, pod_ip: str,
                                 host_ip: str) -> dict[str, tuple[bytes, int]]:
        mode = int(source.get("defaultMode", DEFAULT_MODE))
        namespace = str(pod["metadata"].get("namespace", "default"))
        payload: dict[str, tuple[bytes, int]] = {}
        for part in source.get("sources") or []:
            if part.get("configMap"):
                payload.update(await self._object_payload("configmaps", namespace,
                                                          part["configMap"], mode))
            elif part.get("secret"):
                payload.update(await self._object_payload("secrets", namespace,
                                                          part["secret"], mode))
            elif part.get("downwardAPI"):
                payload.update(self._downward_payload(pod, part["downwardAPI"], pod_ip,
                                                      host_ip, mode))
            elif part.get("serviceAccountToken"):
                token_source = part["serviceAccountToken"]
                account = str((pod.get("spec") or {}).get("serviceAccountName") or "default")
                token = await self.get_token(namespace, account, pod,
                                             str(token_source.get("audience") or ""),
                                             int(token_source.get("expirationSeconds") or 3600))
                payload[str(token_source.get("path", "token"))] = (token.encode(), mode)
        return payload

    def teardown(self, uid: str) -> None:
        """Unmount the pod's tmpfs volumes, then remove the pod's directory.

        Never removes a directory that still has something mounted below it: rmtree would
        follow the mount and empty whatever is mounted there. A mount that cannot be
        unmounted is a VolumeError and the directory stays for a later attempt.
        """
        directory = self.pod_dir(uid)
        if not directory.exists():
            return
        problems: list[str] = []
        for mount in sorted(_mounts_below(directory), reverse=True):  # deepest first
            done = subprocess.run(["umount", str(mount)], capture_output=True, text=True,
                                  check=False)
            if done.returncode != 0 and os.path.ismount(mount):
                problems.append(f"umount {mount}: {done.stderr.strip() or done.returncode}")
        if problems:
            raise VolumeError(f"pod {uid}: volumes still mounted, directory kept: "
                              + "; ".join(problems))
        shutil.rmtree(directory, ignore_errors=True)


def _mounts_below(directory: Path) -> list[Path]:
    """Mount points strictly below `directory`, from /proc/self/mountinfo."""
    prefix = str(directory.resolve()).rstrip("/") + "/"
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    mounts = []
    for line in lines:
        fields = line.split()
        if len(fields) > 4:
            # the kernel escapes space, tab, newline and backslash as octal (\040 …)
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            if point.startswith(prefix):
                mounts.append(Path(point))
    return mounts


def _bytes(quantity: str) -> int:
    from kubeadmpy.scheduler.quantities import whole_value
    return whole_value(quantity)
