"""The API objects `init` creates, as plain data: ConfigMaps, RBAC, bootstrap tokens, cluster-info.

Names, keys, labels and subjects are kubeadm's (see docs/architecture.md), so a node joined by
upstream kubeadm — or a user's script written against kubeadm clusters — finds what it expects.
Pure functions: the API phases send what these return.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import yaml

from kubeadmpy.config import v1beta4

JSON = dict[str, Any]

KUBE_SYSTEM, KUBE_PUBLIC = "kube-system", "kube-public"
DEFAULT_NODE_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token"
NODES_GROUP = "system:nodes"
CLUSTER_ADMINS_GROUP = "kubeadm:cluster-admins"
RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_VERSION = f"{RBAC_GROUP}/v1"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
EXCLUDE_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


def config_map(name: str, namespace: str, data: dict[str, str]) -> JSON:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def _subject(kind: str, name: str) -> JSON:
    subject: JSON = {"kind": kind, "name": name}
    if kind in ("User", "Group"):
        subject["apiGroup"] = RBAC_GROUP
    return subject


def groups(*names: str) -> list[JSON]:
    return [_subject("Group", name) for name in names]


def role(name: str, namespace: str, rules: list[JSON]) -> JSON:
    return {
        "apiVersion": RBAC_VERSION,
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace},
        "rules": rules,
    }


def role_binding(name: str, namespace: str, role_name: str, subjects: list[JSON]) -> JSON:
    return {
        "apiVersion": RBAC_VERSION,
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": role_name},
        "subjects": subjects,
    }


def cluster_role(name: str, rules: list[JSON]) -> JSON:
    return {
        "apiVersion": RBAC_VERSION,
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules,
    }


def cluster_role_binding(name: str, cluster_role_name: str, subjects: list[JSON]) -> JSON:
    return {
        "apiVersion": RBAC_VERSION,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": cluster_role_name},
        "subjects": subjects,
    }


def _get_named(resource: str, name: str, api_group: str = "") -> JSON:
    return {
        "apiGroups": [api_group],
        "resources": [resource],
        "resourceNames": [name],
        "verbs": ["get"],
    }


def cluster_admins_binding() -> JSON:
    """Gives admin.conf (O=kubeadm:cluster-admins) cluster-admin through RBAC, not system:masters."""
    return cluster_role_binding(CLUSTER_ADMINS_GROUP, "cluster-admin", groups(CLUSTER_ADMINS_GROUP))


def config_reader(role_name: str, config_map_name: str) -> list[JSON]:
    """A Role that may read one kube-system ConfigMap, bound to joining and joined nodes."""
    return [
        role(role_name, KUBE_SYSTEM, [_get_named("configmaps", config_map_name)]),
        role_binding(
            role_name, KUBE_SYSTEM, role_name, groups(DEFAULT_NODE_TOKEN_GROUP, NODES_GROUP)
        ),
    ]


def kubeadm_config(cluster_yaml: str) -> list[JSON]:
    return [
        config_map("kubeadm-config", KUBE_SYSTEM, {"ClusterConfiguration": cluster_yaml}),
        *config_reader("kubeadm:nodes-kubeadm-config", "kubeadm-config"),
    ]


def kubelet_config(kubelet: dict[str, Any]) -> list[JSON]:
    text = yaml.safe_dump(kubelet, sort_keys=True)
    return [
        config_map("kubelet-config", KUBE_SYSTEM, {"kubelet": text}),
        *config_reader("kubeadm:kubelet-config", "kubelet-config"),
    ]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bootstrap_token_secret(token: v1beta4.BootstrapToken, now: datetime) -> JSON:
    """Secret kube-system/bootstrap-token-<id> of type bootstrap.kubernetes.io/token."""
    token_id, _, secret = token.token.partition(".")
    data: dict[str, str] = {"token-id": token_id, "token-secret": secret}
    if token.description:
        data["description"] = token.description
    if token.expires is not None:
        data["expiration"] = _rfc3339(token.expires)
    elif token.ttl is not None and token.ttl.total_seconds() > 0:
        data["expiration"] = _rfc3339(now + token.ttl)
    for usage in token.usages:
        data[f"usage-bootstrap-{usage}"] = "true"
    if token.groups:
        data["auth-extra-groups"] = ",".join(token.groups)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "bootstrap.kubernetes.io/token",
        "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": KUBE_SYSTEM},
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
    }


def bootstrap_rbac(token_groups: Iterable[str] = (DEFAULT_NODE_TOKEN_GROUP,)) -> list[JSON]:
    """What lets token holders post CSRs, get them approved, and read nodes during join."""
    bootstrappers = groups(*sorted(set(token_groups)))
    return [
        cluster_role_binding(
            "kubeadm:kubelet-bootstrap", "system:node-bootstrapper", bootstrappers
        ),
        cluster_role_binding(
            "kubeadm:node-autoapprove-bootstrap",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            bootstrappers,
        ),
        cluster_role_binding(
            "kubeadm:node-autoapprove-certificate-rotation",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            groups(NODES_GROUP),
        ),
        cluster_role(
            "kubeadm:get-nodes", [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]
        ),
        cluster_role_binding("kubeadm:get-nodes", "kubeadm:get-nodes", bootstrappers),
    ]


def cluster_info_kubeconfig(ca_pem: bytes, server: str) -> str:
    """The kubeconfig discovery reads: the CA and the endpoint, no user or context."""
    kubeconfig: JSON = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": "",
                "cluster": {
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                    "server": server,
                },
            }
        ],
        "contexts": None,
        "current-context": "",
        "users": None,
    }
    return yaml.safe_dump(kubeconfig, sort_keys=True)


def cluster_info(ca_pem: bytes, server: str) -> list[JSON]:
    """ConfigMap kube-public/cluster-info, readable by anyone (join's discovery is anonymous)."""
    name = "kubeadm:bootstrap-signer-clusterinfo"
    return [
        config_map(
            "cluster-info", KUBE_PUBLIC, {"kubeconfig": cluster_info_kubeconfig(ca_pem, server)}
        ),
        role(name, KUBE_PUBLIC, [_get_named("configmaps", "cluster-info")]),
        role_binding(name, KUBE_PUBLIC, name, [_subject("User", "system:anonymous")]),
    ]


def control_plane_node_patch(node: JSON, taints: list[v1beta4.Taint]) -> JSON:
    """A merge patch that labels the node a control plane and adds the wanted taints."""
    existing = list((node.get("spec") or {}).get("taints") or [])
    keys = {(t.get("key"), t.get("effect")) for t in existing}
    for taint in taints:
        if (taint.key, taint.effect) not in keys:
            entry: JSON = {"key": taint.key, "effect": taint.effect}
            if taint.value:
                entry["value"] = taint.value
            existing.append(entry)
    patch: JSON = {"metadata": {"labels": {CONTROL_PLANE_LABEL: "", EXCLUDE_LB_LABEL: ""}}}
    if existing:
        patch["spec"] = {"taints": existing}
    return patch


def kubeadm_certs_secret(files: dict[str, bytes], owner: JSON) -> list[JSON]:
    """Secret kube-system/kubeadm-certs (values already encrypted), owned by a short-lived token."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": "kubeadm-certs",
            "namespace": KUBE_SYSTEM,
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "data": {name: base64.b64encode(value).decode() for name, value in sorted(files.items())},
    }
    name = "kubeadm:kubeadm-certs"
    return [
        secret,
        role(name, KUBE_SYSTEM, [_get_named("secrets", "kubeadm-certs")]),
        role_binding(name, KUBE_SYSTEM, name, groups(DEFAULT_NODE_TOKEN_GROUP)),
    ]
