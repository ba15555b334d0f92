"""The bootstrap policy reconciled into a real etcd and evaluated from what etcd holds.

Objects are stored as the API server stores them (JSON under /registry/<resource>/...), read
back by prefix into the RBAC store, and judged; reconciling again writes nothing (the etcd
revision does not move), and a user's addition survives reconciliation.
"""

from __future__ import annotations

import json
from typing import Any

from security_etcd import Etcd

from kubeadmpy.security import bootstrap_policy
from kubeadmpy.security.authorizer import AuthorizerChain
from kubeadmpy.security.identity import Attributes, UserInfo
from kubeadmpy.security.node_authorizer import NodeAuthorizer
from kubeadmpy.security.rbac import RBACAuthorizer
from kubeadmpy.security.reconcile import reconcile_bootstrap_policy

RESOURCES = {"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings",
             "Role": "roles", "RoleBinding": "rolebindings", "Pod": "pods", "Secret": "secrets"}
PREFIX = b"/registry-security-test/"


def storage_key(kind: str, namespace: str, name: str) -> bytes:
    resource = RESOURCES[kind]
    path = f"{resource}/{namespace}/{name}" if namespace else f"{resource}/{name}"
    return PREFIX + path.encode()


class EtcdObjects:
    def __init__(self, etcd: Etcd) -> None:
        self.etcd = etcd

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        raw = self.etcd.get(storage_key(kind, namespace, name))
        return json.loads(raw) if raw else None

    def put(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.etcd.put(storage_key(obj["kind"], meta.get("namespace", ""), meta["name"]),
                      json.dumps(obj).encode())

    def load(self, *resources: str) -> list[dict[str, Any]]:
        out = []
        for resource in resources:
            out += [json.loads(v) for _, v in self.etcd.items(PREFIX + f"{resource}/".encode())]
        return out


def test_reconciled_policy_in_etcd_authorizes_as_upstream(etcd: Etcd) -> None:
    store = EtcdObjects(etcd)
    first = reconcile_bootstrap_policy(store.get, store.put, store.put)
    assert len(first.created) == len(bootstrap_policy.all_objects())
    revision = etcd.revision()
    second = reconcile_bootstrap_policy(store.get, store.put, store.put)
    assert (second.created, second.updated) == ([], [])
    assert etcd.revision() == revision

    store.put({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "dev-edit", "namespace": "team-a"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "edit"},
               "subjects": [{"kind": "Group", "name": "dev",
                             "apiGroup": "rbac.authorization.k8s.io"}]})
    basic = store.get("ClusterRoleBinding", "", "system:basic-user")
    assert basic is not None
    basic["subjects"].append({"kind": "User", "name": "auditor",
                              "apiGroup": "rbac.authorization.k8s.io"})
    store.put(basic)
    reconcile_bootstrap_policy(store.get, store.put, store.put)
    kept = store.get("ClusterRoleBinding", "", "system:basic-user")
    assert kept is not None and kept["subjects"][-1]["name"] == "auditor"

    rbac = RBACAuthorizer()
    rbac.load(store.load("clusterroles", "clusterrolebindings", "roles", "rolebindings"))
    chain = AuthorizerChain([NodeAuthorizer(_NoPods()), rbac])
    dev = UserInfo("carol", groups=("dev", "system:authenticated"))

    def allowed(verb: str, resource: str, namespace: str, group: str = "") -> bool:
        return chain(Attributes(dev, verb, True, group, "v1", resource, "", namespace)).allowed

    assert allowed("create", "deployments", "team-a", "apps")
    assert not allowed("create", "deployments", "team-b", "apps")
    kubelet = UserInfo("system:node:n1", groups=("system:nodes", "system:authenticated"))
    assert not chain(Attributes(kubelet, "get", True, "", "v1", "secrets", "", "team-a",
                                "db")).allowed


class _NoPods:
    def pods_on_node(self, node_name: str) -> list[dict[str, Any]]:
        return []

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return None
