"""Static pods: manifests in staticPodPath run without the API, and appear there as mirror pods.

This is how the control plane bootstraps: the kubelet reads /etc/kubernetes/manifests before
any API server exists. Like upstream, a static pod is named ``<name>-<node name>``, its uid is a
hash of its content, the node name and its source (so editing the file makes a new pod), and
it carries ``kubernetes.io/config.hash`` / ``config.source: file``. Its mirror pod in the API
has ``kubernetes.io/config.mirror`` set to that hash and is owned by the Node.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubeadmpy.client import Client, Preconditions, errors

log = logging.getLogger(__name__)
JSONObject = dict[str, Any]

CONFIG_HASH = "kubernetes.io/config.hash"
CONFIG_MIRROR = "kubernetes.io/config.mirror"
CONFIG_SOURCE = "kubernetes.io/config.source"
CONFIG_SEEN = "kubernetes.io/config.seen"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def static_pod(document: JSONObject, node_name: str, source: str) -> JSONObject:
    """The pod the kubelet runs for a manifest: renamed, hashed, bound to this node."""
    pod = copy.deepcopy(document)
    meta = pod.setdefault("metadata", {})
    meta["namespace"] = meta.get("namespace") or "default"
    digest = hashlib.md5(usedforsecurity=False)
    digest.update(json.dumps(pod, sort_keys=True).encode())
    digest.update(f"host:{node_name}file:{source}".encode())
    uid = digest.hexdigest()
    meta["name"] = f"{meta.get('name', '')}-{node_name}"
    meta["uid"] = uid
    annotations = meta.setdefault("annotations", {})
    annotations[CONFIG_HASH] = uid
    annotations[CONFIG_SOURCE] = "file"
    spec = pod.setdefault("spec", {})
    spec["nodeName"] = node_name
    tolerations = spec.setdefault("tolerations", [])
    if {"operator": "Exists", "effect": "NoExecute"} not in tolerations:
        tolerations.append({"operator": "Exists", "effect": "NoExecute"})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    for container in spec.get("containers") or []:
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
    return pod


def read_manifest(path: Path, node_name: str) -> JSONObject | None:
    """A static pod from one file; None (with a log line) when the file is not a Pod."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        log.warning("static pod %s: cannot read: %s", path, exc)
        return None
    if not isinstance(document, dict) or document.get("kind") != "Pod" or \
            not (document.get("metadata") or {}).get("name"):
        log.warning("static pod %s: not a Pod with metadata.name; ignored", path)
        return None
    return static_pod(document, node_name, str(path))


@dataclass
class StaticPodDirectory:
    """Polls the directory; `scan` returns the pods by uid when anything changed."""

    directory: Path
    node_name: str
    _seen: dict[str, tuple[float, int]] = field(default_factory=dict)
    pods: dict[str, JSONObject] = field(default_factory=dict)  # uid → pod

    def scan(self) -> bool:
        """Re-read changed files; True when the set of pods changed."""
        files: dict[str, tuple[float, int]] = {}
        if self.directory.is_dir():
            for path in sorted(self.directory.iterdir()):
                if path.name.startswith(".") or path.suffix not in MANIFEST_SUFFIXES:
                    continue
                try:
                    info = path.stat()
                except OSError:
                    continue
                files[str(path)] = (info.st_mtime, info.st_size)
        if files == self._seen:
            return False
        self._seen = files
        pods = {}
        for name in files:
            pod = read_manifest(Path(name), self.node_name)
            if pod is not None:
                pods[pod["metadata"]["uid"]] = pod
        changed = set(pods) != set(self.pods)
        self.pods = pods
        return changed


def mirror_pod(pod: JSONObject, node_uid: str) -> JSONObject:
    """The API object that shows a static pod (its own uid is assigned by the server)."""
    mirror = copy.deepcopy(pod)
    meta = mirror["metadata"]
    meta.pop("uid", None)
    meta.pop("resourceVersion", None)
    meta["annotations"][CONFIG_MIRROR] = meta["annotations"][CONFIG_HASH]
    if node_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node",
                                    "name": pod["spec"]["nodeName"], "uid": node_uid,
                                    "controller": True}]
    mirror.pop("status", None)
    return mirror


async def ensure_mirror_pod(client: Client, pod: JSONObject, node_uid: str) -> bool:
    """Create the mirror pod, replacing one made from an older manifest; True if created."""
    meta = pod["metadata"]
    try:
        current = await client.get("pods", meta["name"], meta["namespace"])
    except errors.NotFound:
        current = None
    if current is not None:
        annotations = (current.get("metadata") or {}).get("annotations") or {}
        if annotations.get(CONFIG_MIRROR) == meta["uid"] and \
                not current["metadata"].get("deletionTimestamp"):
            return False
        await delete_mirror_pod(client, current)
    try:
        await client.create("pods", mirror_pod(pod, node_uid), meta["namespace"])
    except errors.AlreadyExists:
        return False
    return True


async def delete_mirror_pod(client: Client, mirror: JSONObject) -> None:
    meta = mirror["metadata"]
    with contextlib.suppress(errors.NotFound, errors.Conflict):
        await client.delete("pods", meta["name"], meta["namespace"], grace_period_seconds=0,
                            preconditions=Preconditions(uid=str(meta.get("uid", ""))))
