"""The Node authorizer and NodeRestriction: a kubelet reaches only what its own pods need."""

from __future__ import annotations

from typing import Any

import pytest
from security_testkit import ObjectTable, pod, resource_request, user

from kubeadmpy.security import bootstrap_policy
from kubeadmpy.security.authorizer import AuthorizerChain
from kubeadmpy.security.identity import Attributes
from kubeadmpy.security.node_authorizer import NodeAuthorizer
from kubeadmpy.security.node_graph import PodIndex
from kubeadmpy.security.node_restriction import AdmissionDenied, AdmissionRequest, NodeRestriction
from kubeadmpy.security.rbac import RBACAuthorizer

NODE_A = user("system:node:node-a", "system:nodes")


@pytest.fixture
def objects() -> ObjectTable:
    table = ObjectTable()
    table.add("pods", pod("ns", "web", "node-a", secrets=["web-tls"], configmaps=["web-conf"],
                          claims=["web-data"], service_account="web"))
    table.add("pods", pod("ns", "db", "node-b", secrets=["db-password"], configmaps=["db-conf"],
                          claims=["db-data"], service_account="db"))
    table.add("volumeattachments", {"metadata": {"name": "va-a"}, "spec": {"nodeName": "node-a"}})
    table.add("volumeattachments", {"metadata": {"name": "va-b"}, "spec": {"nodeName": "node-b"}})
    table.add("persistentvolumeclaims", {"metadata": {"namespace": "ns", "name": "web-data"},
                                         "spec": {"volumeName": "pv-web"}})
    table.add("persistentvolumeclaims", {"metadata": {"namespace": "ns", "name": "db-data"},
                                         "spec": {"volumeName": "pv-db"}})
    return table


@pytest.fixture
def chain(objects: ObjectTable) -> AuthorizerChain:
    rbac = RBACAuthorizer()
    rbac.load(bootstrap_policy.all_objects())
    return AuthorizerChain([NodeAuthorizer(objects), rbac])


def req(verb: str, resource: str, namespace: str = "", name: str = "", group: str = "",
        subresource: str = "") -> Attributes:
    return resource_request(NODE_A, verb, resource, namespace, name, group, subresource)


NODE_CASES = [
    ("reads a secret its pod mounts", req("get", "secrets", "ns", "web-tls"), True),
    ("cannot read a secret of a pod on another node", req("get", "secrets", "ns",
                                                          "db-password"), False),
    ("cannot read an unreferenced secret", req("get", "secrets", "ns", "random"), False),
    ("cannot list secrets", req("list", "secrets", "ns"), False),
    ("watches one secret its pod mounts (metadata.name selector)",
     req("watch", "secrets", "ns", "web-tls"), True),
    ("cannot watch another node's secret", req("watch", "secrets", "ns", "db-password"), False),
    ("cannot list claims even by name", req("list", "persistentvolumeclaims", "ns", "web-data"),
     False),
    ("reads its VolumeAttachment", req("get", "volumeattachments", "", "va-a",
                                       "storage.k8s.io"), True),
    ("cannot read another node's VolumeAttachment",
     req("get", "volumeattachments", "", "va-b", "storage.k8s.io"), False),
    ("cannot update a secret its pod mounts", req("update", "secrets", "ns", "web-tls"), False),
    ("reads a configmap its pod uses", req("get", "configmaps", "ns", "web-conf"), True),
    ("cannot read another node's configmap", req("get", "configmaps", "ns", "db-conf"), False),
    ("reads its pod's claim", req("get", "persistentvolumeclaims", "ns", "web-data"), True),
    ("reads the volume bound to its pod's claim", req("get", "persistentvolumes", "",
                                                      "pv-web"), True),
    ("cannot read another pod's volume", req("get", "persistentvolumes", "", "pv-db"), False),
    ("creates a token for its pod's service account",
     req("create", "serviceaccounts", "ns", "web", subresource="token"), True),
    ("cannot create a token for another node's service account",
     req("create", "serviceaccounts", "ns", "db", subresource="token"), False),
    ("reads its own Node", req("get", "nodes", "", "node-a"), True),
    ("cannot read another Node", req("get", "nodes", "", "node-b"), False),
    ("lists nodes", req("list", "nodes"), True),
    ("updates its own Node", req("update", "nodes", "", "node-a"), True),
    ("patches its own node status", req("patch", "nodes", "", "node-a",
                                        subresource="status"), True),
    ("cannot update another Node", req("update", "nodes", "", "node-b"), False),
    ("cannot patch another node's status", req("patch", "nodes", "", "node-b",
                                               subresource="status"), False),
    ("cannot delete another Node", req("delete", "nodes", "", "node-b"), False),
    ("creates its Node", req("create", "nodes"), True),
    ("renews its Lease", req("update", "leases", "kube-node-lease", "node-a",
                             "coordination.k8s.io"), True),
    ("cannot renew another node's Lease", req("update", "leases", "kube-node-lease", "node-b",
                                              "coordination.k8s.io"), False),
    ("cannot touch Leases elsewhere", req("get", "leases", "kube-system", "node-a",
                                          "coordination.k8s.io"), False),
    ("updates the status of its pod", req("update", "pods", "ns", "web",
                                          subresource="status"), True),
    ("cannot update the status of another node's pod", req("patch", "pods", "ns", "db",
                                                           subresource="status"), False),
    ("cannot delete another node's pod", req("delete", "pods", "ns", "db"), False),
    ("creates (mirror) pods", req("create", "pods", "kube-system"), True),
    ("creates events", req("create", "events", "ns"), True),
    ("cannot create deployments", req("create", "deployments", "ns", group="apps"), False),
    ("cannot read ClusterRoles", req("get", "clusterroles", "", "admin",
                                     "rbac.authorization.k8s.io"), False),
]


@pytest.mark.parametrize(("request_", "allowed"), [c[1:] for c in NODE_CASES],
                         ids=[f"a kubelet {c[0]}" for c in NODE_CASES])
def test_node_authorization(chain: AuthorizerChain, request_: Attributes, allowed: bool) -> None:
    assert chain(request_).allowed is allowed


def test_a_refusal_says_why(chain: AuthorizerChain) -> None:
    verdict = chain(req("get", "secrets", "ns", "db-password"))
    assert "no relationship found between node 'node-a' and this object" in verdict.reason


def test_the_graph_follows_pods_as_they_move(objects: ObjectTable,
                                             chain: AuthorizerChain) -> None:
    request = req("get", "secrets", "ns", "db-password")
    assert not chain(request).allowed
    objects.add("pods", pod("ns", "db", "node-a", secrets=["db-password"]))
    assert chain(request).allowed
    objects.remove("pods", "ns", "db")
    assert not chain(request).allowed


def test_mirror_pods_do_not_open_the_graph(objects: ObjectTable, chain: AuthorizerChain) -> None:
    objects.add("pods", pod("kube-system", "static", "node-a", secrets=["admin-token"],
                            annotations={"kubernetes.io/config.mirror": "hash"}))
    assert not chain(req("get", "secrets", "kube-system", "admin-token")).allowed


def test_other_users_are_not_judged_by_the_node_authorizer(objects: ObjectTable) -> None:
    alice = user("alice")
    impostor = user("system:node:node-a")  # right name, not in system:nodes
    authorizer = NodeAuthorizer(objects)
    for who in (alice, impostor):
        verdict = authorizer.authorize(resource_request(who, "get", "secrets", "ns", "web-tls"))
        assert verdict.decision.value == "no-opinion"


# ---- NodeRestriction --------------------------------------------------------------------------

def admit(objects: ObjectTable, operation: str, resource: str, *, name: str = "",
          namespace: str = "", subresource: str = "", group: str = "",
          obj: dict[str, Any] | None = None, old: dict[str, Any] | None = None,
          who: Any = NODE_A) -> None:
    plugin = NodeRestriction(objects.getter("pods"))
    plugin.admit(AdmissionRequest(who, operation, resource, subresource, group, namespace, name,
                                  obj, old))


def node_object(name: str, labels: dict[str, str] | None = None,
                taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": taints or []}}


MIRROR = {"kubernetes.io/config.mirror": "abc"}

ADMISSION_REFUSALS = [
    ("a non-mirror pod", dict(operation="CREATE", resource="pods", namespace="kube-system",
                              obj=pod("kube-system", "p", "node-a")), "can only create mirror"),
    ("a mirror pod for another node",
     dict(operation="CREATE", resource="pods", namespace="kube-system",
          obj=pod("kube-system", "p", "node-b", annotations=MIRROR, service_account="")),
     "spec.nodeName set to itself"),
    ("a mirror pod referencing a secret",
     dict(operation="CREATE", resource="pods", namespace="kube-system",
          obj=pod("kube-system", "p", "node-a", annotations=MIRROR, secrets=["s"],
                  service_account="")), "reference secrets"),
    ("a mirror pod with a service account",
     dict(operation="CREATE", resource="pods", namespace="kube-system",
          obj=pod("kube-system", "p", "node-a", annotations=MIRROR, service_account="x")),
     "reference service accounts"),
    ("deleting another node's pod", dict(operation="DELETE", resource="pods", namespace="ns",
                                         name="db"), "set to itself"),
    ("updating another node's pod status",
     dict(operation="UPDATE", resource="pods", namespace="ns", name="db", subresource="status"),
     "set to itself"),
    ("updating another Node", dict(operation="UPDATE", resource="nodes", name="node-b",
                                   obj=node_object("node-b"), old=node_object("node-b")),
     'not allowed to modify node "node-b"'),
    ("setting a node-restriction label",
     dict(operation="UPDATE", resource="nodes", name="node-a",
          obj=node_object("node-a", {"node-restriction.kubernetes.io/secure": "yes"}),
          old=node_object("node-a")), "not allowed to modify labels"),
    ("setting the control-plane role label",
     dict(operation="UPDATE", resource="nodes", name="node-a",
          obj=node_object("node-a", {"node-role.kubernetes.io/control-plane": ""}),
          old=node_object("node-a")), "node-role.kubernetes.io/control-plane"),
    ("removing its taints",
     dict(operation="UPDATE", resource="nodes", name="node-a", obj=node_object("node-a"),
          old=node_object("node-a", taints=[{"key": "k", "effect": "NoSchedule"}])),
     "not allowed to modify taints"),
    ("a token not bound to a pod",
     dict(operation="CREATE", resource="serviceaccounts", subresource="token", namespace="ns",
          name="web", obj={"spec": {}}), "not bound to a pod"),
    ("a token bound to another node's pod",
     dict(operation="CREATE", resource="serviceaccounts", subresource="token", namespace="ns",
          name="db", obj={"spec": {"boundObjectRef": {"kind": "Pod", "name": "db"}}}),
     "different node"),
    ("another node's Lease",
     dict(operation="UPDATE", resource="leases", group="coordination.k8s.io",
          namespace="kube-node-lease", name="node-b"), "its own lease"),
]


@pytest.mark.parametrize("case", [c[1] for c in ADMISSION_REFUSALS],
                         ids=[f"NodeRestriction refuses {c[0]}" for c in ADMISSION_REFUSALS])
def test_node_restriction_refusals(objects: ObjectTable, case: dict[str, Any]) -> None:
    expected = next(c[2] for c in ADMISSION_REFUSALS if c[1] is case)
    with pytest.raises(AdmissionDenied) as caught:
        admit(objects, **case)
    assert expected in str(caught.value)


def test_node_restriction_admits_the_kubelets_own_work(objects: ObjectTable) -> None:
    admit(objects, "CREATE", "pods", namespace="kube-system",
          obj=pod("kube-system", "etcd-node-a", "node-a", annotations=MIRROR,
                  service_account=""))
    admit(objects, "UPDATE", "pods", namespace="ns", name="web", subresource="status")
    admit(objects, "CREATE", "nodes", obj=node_object(
        "node-a", {"kubernetes.io/hostname": "node-a", "example.com/rack": "r1"},
        [{"key": "k", "effect": "NoSchedule"}]))
    admit(objects, "UPDATE", "nodes", name="node-a",
          obj=node_object("node-a", {"kubernetes.io/os": "linux"}), old=node_object("node-a"))
    admit(objects, "CREATE", "serviceaccounts", subresource="token", namespace="ns", name="web",
          obj={"spec": {"boundObjectRef": {"kind": "Pod", "name": "web", "uid": "uid-web"}}})
    admit(objects, "UPDATE", "leases", group="coordination.k8s.io", namespace="kube-node-lease",
          name="node-a")
    # and it does not judge anyone else
    admit(objects, "UPDATE", "nodes", name="node-b", obj=node_object("node-b"),
          old=node_object("node-b"), who=user("kubernetes-admin", "system:masters"))


def test_the_pod_index_follows_binding_moves_and_deletes() -> None:
    index = PodIndex()
    index.replace([pod("ns", "a", "node-a"), pod("ns", "b", "node-b"), pod("ns", "c")])
    assert [p["metadata"]["name"] for p in index.pods_on_node("node-a")] == ["a"]
    index.apply(pod("ns", "c", "node-a"))  # the scheduler bound it
    assert sorted(p["metadata"]["name"] for p in index.pods_on_node("node-a")) == ["a", "c"]
    index.apply(pod("ns", "a", "node-b"))  # recreated elsewhere under the same name
    assert [p["metadata"]["name"] for p in index.pods_on_node("node-a")] == ["c"]
    index.delete("ns", "c")
    assert index.pods_on_node("node-a") == []
    index.replace([])
    assert index.pods_on_node("node-b") == []
