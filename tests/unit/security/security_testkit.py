"""Builders shared by the security unit tests: RBAC objects, users, requests, pods, secrets."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from kubeadmpy.security.identity import Attributes, UserInfo, with_authenticated_group

RBAC_V1 = "rbac.authorization.k8s.io/v1"


def user(name: str, *groups: str) -> UserInfo:
    return with_authenticated_group(UserInfo(name, groups=groups))


def resource_request(who: UserInfo, verb: str, resource: str, namespace: str = "",
                     name: str = "", group: str = "", subresource: str = "") -> Attributes:
    return Attributes(who, verb, True, group, "v1", resource, subresource, namespace, name)


def url_request(who: UserInfo, verb: str, path: str) -> Attributes:
    return Attributes(who, verb, False, path=path)


def policy_rule(verbs: str, groups: Iterable[str], resources: str = "", names: str = "",
                urls: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"verbs": verbs.split()}
    if resources:
        out["apiGroups"] = list(groups)
        out["resources"] = resources.split()
    if names:
        out["resourceNames"] = names.split()
    if urls:
        out["nonResourceURLs"] = urls.split()
    return out


def role(name: str, rules: list[dict[str, Any]], namespace: str = "",
         labels: Mapping[str, str] | None = None,
         aggregate_labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(labels or {})}
    if namespace:
        meta["namespace"] = namespace
    obj: dict[str, Any] = {"apiVersion": RBAC_V1, "kind": "Role" if namespace else "ClusterRole",
                           "metadata": meta, "rules": rules}
    if aggregate_labels is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels":
                                                            dict(aggregate_labels)}]}
    return obj


def bind(name: str, role_name: str, subjects: list[dict[str, str]], namespace: str = "",
         role_kind: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": RBAC_V1, "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                        "kind": role_kind or ("Role" if namespace else "ClusterRole"),
                        "name": role_name},
            "subjects": subjects}


def subject(kind: str, name: str, namespace: str = "") -> dict[str, str]:
    out = {"kind": kind, "name": name}
    if namespace:
        out["namespace"] = namespace
    return out


def secret(namespace: str, name: str, values: Mapping[str, str], type_: str = "Opaque",
           uid: str = "") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": type_,
            "metadata": {"namespace": namespace, "name": name, "uid": uid or f"uid-{name}"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}}


def pod(namespace: str, name: str, node: str = "", *, secrets: Iterable[str] = (),
        configmaps: Iterable[str] = (), claims: Iterable[str] = (),
        service_account: str = "default", uid: str = "",
        annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = [{"name": f"s-{s}", "secret": {"secretName": s}}
                                     for s in secrets]
    volumes += [{"name": f"c-{c}", "configMap": {"name": c}} for c in configmaps]
    volumes += [{"name": f"p-{c}", "persistentVolumeClaim": {"claimName": c}} for c in claims]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"namespace": namespace, "name": name, "uid": uid or f"uid-{name}",
                         "annotations": dict(annotations or {})},
            "spec": {"nodeName": node, "serviceAccountName": service_account,
                     "containers": [{"name": "c", "image": "busybox"}], "volumes": volumes}}


class ObjectTable:
    """A dict of objects keyed by (resource, namespace, name), with the getters tests inject."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}

    def add(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        self.objects[(resource, meta.get("namespace", ""), meta["name"])] = obj
        return obj

    def remove(self, resource: str, namespace: str, name: str) -> None:
        self.objects.pop((resource, namespace, name), None)

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((resource, namespace, name))

    def getter(self, resource: str) -> Any:
        return lambda namespace, name: self.get(resource, namespace, name)

    def pods_on_node(self, node_name: str) -> list[dict[str, Any]]:
        return [o for (r, _, _), o in self.objects.items()
                if r == "pods" and o["spec"].get("nodeName") == node_name]
