"""Which objects a node may read: those referenced by pods bound to it.

Upstream keeps an incrementally updated graph; here the relation is computed on demand from the
pods on the node (an injected source indexes pods by spec.nodeName), which is exact and cheap for
the tens of pods a node runs. Mirror pods' references are ignored, as NodeRestriction forbids them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


class NodeObjectSource(Protocol):
    """What the Node authorizer needs from the server's caches."""

    def pods_on_node(self, node_name: str) -> Iterable[Mapping[str, Any]]: ...

    def get(self, resource: str, namespace: str, name: str) -> Mapping[str, Any] | None: ...


def _containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, Mapping):
                yield container


def pod_references(pod: Mapping[str, Any]) -> dict[str, set[str]]:
    """Names of secrets, configmaps, PVCs and the service account a pod uses."""
    spec = pod.get("spec") or {}
    refs: dict[str, set[str]] = {"secrets": set(), "configmaps": set(),
                                 "persistentvolumeclaims": set(), "serviceaccounts": set()}
    refs["serviceaccounts"].add(str(spec.get("serviceAccountName") or "default"))
    for ref in spec.get("imagePullSecrets") or []:
        if isinstance(ref, Mapping) and ref.get("name"):
            refs["secrets"].add(str(ref["name"]))
    for container in _containers(spec):
        for env in container.get("env") or []:
            source = (env or {}).get("valueFrom") or {}
            if (source.get("secretKeyRef") or {}).get("name"):
                refs["secrets"].add(str(source["secretKeyRef"]["name"]))
            if (source.get("configMapKeyRef") or {}).get("name"):
                refs["configmaps"].add(str(source["configMapKeyRef"]["name"]))
        for env_from in container.get("envFrom") or []:
            if ((env_from or {}).get("secretRef") or {}).get("name"):
                refs["secrets"].add(str(env_from["secretRef"]["name"]))
            if ((env_from or {}).get("configMapRef") or {}).get("name"):
                refs["configmaps"].add(str(env_from["configMapRef"]["name"]))
    pod_name = str((pod.get("metadata") or {}).get("name", ""))
    for volume in spec.get("volumes") or []:
        if isinstance(volume, Mapping):
            _volume_references(volume, pod_name, refs)
    return refs


def _volume_references(volume: Mapping[str, Any], pod_name: str,
                       refs: dict[str, set[str]]) -> None:
    if (volume.get("secret") or {}).get("secretName"):
        refs["secrets"].add(str(volume["secret"]["secretName"]))
    if (volume.get("configMap") or {}).get("name"):
        refs["configmaps"].add(str(volume["configMap"]["name"]))
    if (volume.get("persistentVolumeClaim") or {}).get("claimName"):
        refs["persistentvolumeclaims"].add(str(volume["persistentVolumeClaim"]["claimName"]))
    if volume.get("ephemeral"):
        refs["persistentvolumeclaims"].add(f"{pod_name}-{volume.get('name', '')}")
    for source in (volume.get("projected") or {}).get("sources") or []:
        if ((source or {}).get("secret") or {}).get("name"):
            refs["secrets"].add(str(source["secret"]["name"]))
        if ((source or {}).get("configMap") or {}).get("name"):
            refs["configmaps"].add(str(source["configMap"]["name"]))
    # volume plugins that name a secret for credentials
    for plugin in volume.values():
        if isinstance(plugin, Mapping):
            for key in ("secretRef", "nodePublishSecretRef", "nodeStageSecretRef"):
                if (plugin.get(key) or {}).get("name"):
                    refs["secrets"].add(str(plugin[key]["name"]))


def is_mirror_pod(pod: Mapping[str, Any]) -> bool:
    return MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})


def node_references(source: NodeObjectSource, node_name: str, resource: str,
                    namespace: str, name: str) -> str | None:
    """The pod through which `node_name` may reach the object, or None if none does."""
    for pod in source.pods_on_node(node_name):
        meta = pod.get("metadata") or {}
        if str((pod.get("spec") or {}).get("nodeName", "")) != node_name or is_mirror_pod(pod):
            continue
        if resource == "persistentvolumes":
            if _reaches_pv(source, pod, name):
                return str(meta.get("name"))
            continue
        if str(meta.get("namespace", "")) != namespace:
            continue
        if name in pod_references(pod).get(resource, set()):
            return str(meta.get("name"))
    return None


def _reaches_pv(source: NodeObjectSource, pod: Mapping[str, Any], pv_name: str) -> bool:
    namespace = str((pod.get("metadata") or {}).get("namespace", ""))
    for claim in pod_references(pod)["persistentvolumeclaims"]:
        pvc = source.get("persistentvolumeclaims", namespace, claim)
        if pvc is not None and (pvc.get("spec") or {}).get("volumeName") == pv_name:
            return True
    return False


class PodIndex:
    """Pods by spec.nodeName, kept up to date from pod watch events, so `pods_on_node` costs
    the node's pods rather than a scan of every pod in the cluster."""

    def __init__(self) -> None:
        self._by_node: dict[str, dict[tuple[str, str], Mapping[str, Any]]] = {}
        self._node_of: dict[tuple[str, str], str] = {}

    @staticmethod
    def _key(pod: Mapping[str, Any]) -> tuple[str, str]:
        meta = pod.get("metadata") or {}
        return str(meta.get("namespace", "")), str(meta.get("name", ""))

    def apply(self, pod: Mapping[str, Any]) -> None:
        """A pod was added or changed (it may have been bound to a node meanwhile)."""
        key = self._key(pod)
        self.delete(*key)
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        if node:
            self._by_node.setdefault(node, {})[key] = pod
            self._node_of[key] = node

    def delete(self, namespace: str, name: str) -> None:
        node = self._node_of.pop((namespace, name), None)
        if node is not None:
            pods = self._by_node.get(node, {})
            pods.pop((namespace, name), None)
            if not pods:
                self._by_node.pop(node, None)

    def replace(self, pods: Iterable[Mapping[str, Any]]) -> None:
        """A relist: exactly these pods."""
        self._by_node.clear()
        self._node_of.clear()
        for pod in pods:
            self.apply(pod)

    def pods_on_node(self, node_name: str) -> list[Mapping[str, Any]]:
        return list(self._by_node.get(node_name, {}).values())
