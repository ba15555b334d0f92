"""Review API responses and idempotent reconciliation of the bootstrap policy."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from security_testkit import ObjectTable, bind, secret, subject, user

from kubeadmpy.security import bootstrap_policy, reviews
from kubeadmpy.security.authorizer import AuthorizerChain
from kubeadmpy.security.bootstrap_tokens import BootstrapTokenAuthenticator
from kubeadmpy.security.identity import (
    UserInfo,
    forbidden_message,
    request_attributes,
)
from kubeadmpy.security.rbac import RBACAuthorizer
from kubeadmpy.security.reconcile import plan, reconcile_bootstrap_policy

DEV = user("carol", "dev")


@pytest.fixture(scope="module")
def rbac() -> RBACAuthorizer:
    authorizer = RBACAuthorizer()
    authorizer.load([*bootstrap_policy.all_objects(),
                     bind("dev-edit", "edit", [subject("Group", "dev")], namespace="team-a",
                          role_kind="ClusterRole")])
    return authorizer


def test_self_subject_access_review_answers_can_i(rbac: RBACAuthorizer) -> None:
    chain = AuthorizerChain([rbac])
    body: dict[str, Any] = {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {"resourceAttributes": {"namespace": "team-a", "verb": "create",
                                        "group": "apps", "resource": "deployments"}}}
    answer = reviews.self_subject_access_review(body, DEV, chain)
    assert answer["kind"] == "SelfSubjectAccessReview"
    assert answer["spec"] == body["spec"]
    assert answer["status"]["allowed"] is True
    assert answer["status"]["reason"] == ('RBAC: allowed by RoleBinding "dev-edit/team-a" of '
                                          'ClusterRole "edit" to Group "dev"')
    body["spec"]["resourceAttributes"]["namespace"] = "team-b"
    assert reviews.self_subject_access_review(body, DEV, chain)["status"] == {"allowed": False}


def test_subject_access_review_judges_the_named_user(rbac: RBACAuthorizer) -> None:
    chain = AuthorizerChain([rbac])
    body = {"spec": {"user": "dave", "groups": ["dev"],
                     "nonResourceAttributes": {"path": "/apis", "verb": "get"}}}
    answer = reviews.subject_access_review(body, chain)
    assert answer["apiVersion"] == "authorization.k8s.io/v1"
    # the review judges exactly the groups given: without system:authenticated, no discovery
    assert answer["status"]["allowed"] is False
    body["spec"]["groups"] = ["dev", "system:authenticated"]
    assert reviews.subject_access_review(body, chain)["status"]["reason"] == (
        'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole '
        '"system:discovery" to Group "system:authenticated"')
    with pytest.raises(reviews.ReviewInvalid, match="at least one of user or group"):
        reviews.subject_access_review({"spec": {"nonResourceAttributes": {}}}, chain)
    with pytest.raises(reviews.ReviewInvalid, match="exactly one of"):
        reviews.subject_access_review({"spec": {"user": "x"}}, chain)
    local = {"spec": {"user": "carol", "groups": ["dev"], "resourceAttributes": {
        "namespace": "team-b", "verb": "get", "resource": "pods"}}}
    with pytest.raises(reviews.ReviewInvalid, match=r"must match metadata\.namespace"):
        reviews.subject_access_review(local, chain, namespace="team-a")


def test_self_subject_rules_review_lists_what_can_i_list_prints(rbac: RBACAuthorizer) -> None:
    answer = reviews.self_subject_rules_review({"spec": {"namespace": "team-a"}}, DEV,
                                               rbac.rules_for)
    status = answer["status"]
    assert status["incomplete"] is False
    assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]} \
        in status["resourceRules"]
    assert any("deployments" in r["resources"] and "create" in r["verbs"]
               and r["apiGroups"] == ["apps"] for r in status["resourceRules"])
    assert {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version",
                                                  "/version/"]} in status["nonResourceRules"]
    elsewhere = reviews.self_subject_rules_review({"spec": {"namespace": "team-b"}}, DEV,
                                                  rbac.rules_for)
    assert not any("deployments" in r["resources"] for r in
                   elsewhere["status"]["resourceRules"])
    with pytest.raises(reviews.ReviewInvalid, match=r"spec\.namespace"):
        reviews.self_subject_rules_review({"spec": {}}, DEV, rbac.rules_for)


def test_token_review_and_self_subject_review() -> None:
    table = ObjectTable()
    table.add("secrets", secret("kube-system", "bootstrap-token-abcdef", {
        "token-id": "abcdef", "token-secret": "0123456789abcdef",
        "usage-bootstrap-authentication": "true"}, "bootstrap.kubernetes.io/token"))
    authenticators = [BootstrapTokenAuthenticator(table.getter("secrets"))]
    good = reviews.token_review({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                 "spec": {"token": "abcdef.0123456789abcdef"}}, authenticators,
                                ["https://kubernetes.default.svc"])
    assert good["status"]["authenticated"] is True
    assert good["status"]["user"] == {"username": "system:bootstrap:abcdef",
                                      "groups": ["system:bootstrappers",
                                                 "system:authenticated"]}
    bad = reviews.token_review({"spec": {"token": "abcdef.ffffffffffffffff"}}, authenticators,
                               [])
    assert "authenticated" not in bad["status"] and bad["status"]["error"]
    whoami = reviews.self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
         "metadata": {"creationTimestamp": None}, "status": {"userInfo": {}}},
        UserInfo("alice", "", ("dev", "system:authenticated")))
    assert whoami["status"] == {"userInfo": {"username": "alice",
                                             "groups": ["dev", "system:authenticated"]}}


REQUEST_CASES = [
    ("GET", "/api/v1/namespaces/ns/pods", "", ("list", "", "pods", "", "ns", "")),
    ("GET", "/api/v1/namespaces/ns/pods", "watch=true", ("watch", "", "pods", "", "ns", "")),
    ("GET", "/api/v1/namespaces/ns/pods/p/log", "", ("get", "", "pods", "log", "ns", "p")),
    ("POST", "/apis/apps/v1/namespaces/ns/deployments", "",
     ("create", "apps", "deployments", "", "ns", "")),
    ("DELETE", "/api/v1/namespaces/ns/secrets", "",
     ("deletecollection", "", "secrets", "", "ns", "")),
    ("PATCH", "/api/v1/nodes/n1/status", "", ("patch", "", "nodes", "status", "", "n1")),
    ("GET", "/api/v1/namespaces/ns", "", ("get", "", "namespaces", "", "ns", "ns")),
    ("PUT", "/api/v1/namespaces/ns/finalize", "",
     ("update", "", "namespaces", "finalize", "ns", "ns")),
    ("GET", "/api/v1/watch/namespaces/ns/pods/p", "", ("watch", "", "pods", "", "ns", "p")),
    ("GET", "/api/v1/namespaces/ns/secrets", "fieldSelector=metadata.name%3Ddb&watch=true",
     ("watch", "", "secrets", "", "ns", "db")),
    ("GET", "/api/v1/namespaces/ns/secrets", "fieldSelector=metadata.name%21%3Ddb",
     ("list", "", "secrets", "", "ns", "")),
]


@pytest.mark.parametrize(("method", "path", "query", "expected"), REQUEST_CASES,
                         ids=[f"{c[0]} {c[1]}?{c[2]}" for c in REQUEST_CASES])
def test_request_attributes_as_upstreams_request_info(method: str, path: str, query: str,
                                                      expected: tuple[str, ...]) -> None:
    attrs = request_attributes(DEV, method, path, query)
    assert attrs.is_resource_request
    assert (attrs.verb, attrs.api_group, attrs.resource, attrs.subresource, attrs.namespace,
            attrs.name) == expected


def test_forbidden_messages_read_as_kube_apiservers() -> None:
    attrs = request_attributes(DEV, "GET", "/api/v1/namespaces/default/pods")
    assert forbidden_message(attrs) == ('pods is forbidden: User "carol" cannot list resource '
                                        '"pods" in API group "" in the namespace "default"')
    attrs = request_attributes(DEV, "GET", "/apis/apps/v1/deployments")
    assert forbidden_message(attrs).endswith('in API group "apps" at the cluster scope')
    attrs = request_attributes(DEV, "GET", "/metrics")
    assert forbidden_message(attrs) == 'forbidden: User "carol" cannot get path "/metrics"'


# ---- reconcile --------------------------------------------------------------------------------

class Store:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.writes = 0

    def key(self, obj: dict[str, Any]) -> tuple[str, str, str]:
        meta = obj["metadata"]
        return obj["kind"], meta.get("namespace", ""), meta["name"]

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((kind, namespace, name))
        return copy.deepcopy(found) if found else None

    def put(self, obj: dict[str, Any]) -> None:
        self.writes += 1
        self.objects[self.key(obj)] = copy.deepcopy(obj)

    def delete(self, obj: dict[str, Any]) -> None:
        self.objects.pop(self.key(obj), None)


def test_reconcile_creates_everything_then_is_a_no_op() -> None:
    store = Store()
    report = reconcile_bootstrap_policy(store.get, store.put, store.put, store.delete)
    assert len(report.created) == len(bootstrap_policy.all_objects())
    writes = store.writes
    again = reconcile_bootstrap_policy(store.get, store.put, store.put, store.delete)
    assert (again.created, again.updated) == ([], [])
    assert store.writes == writes


def test_reconcile_keeps_user_additions_and_restores_missing_defaults() -> None:
    store = Store()
    reconcile_bootstrap_policy(store.get, store.put, store.put)
    view = store.objects[("ClusterRole", "", "system:basic-user")]
    view["rules"] = [view["rules"][0], {"apiGroups": ["example.com"], "resources": ["widgets"],
                                        "verbs": ["get"]}]
    crb = store.objects[("ClusterRoleBinding", "", "cluster-admin")]
    crb["subjects"].append({"kind": "User", "name": "root", "apiGroup":
                            "rbac.authorization.k8s.io"})
    del crb["metadata"]["labels"]
    report = reconcile_bootstrap_policy(store.get, store.put, store.put)
    assert sorted(report.updated) == ["ClusterRole system:basic-user",
                                      "ClusterRoleBinding cluster-admin"]
    rules = store.objects[("ClusterRole", "", "system:basic-user")]["rules"]
    assert len(rules) == 3 and rules[1]["apiGroups"] == ["example.com"]
    crb = store.objects[("ClusterRoleBinding", "", "cluster-admin")]
    assert [s["name"] for s in crb["subjects"]] == ["system:masters", "root"]
    assert crb["metadata"]["labels"] == {"kubernetes.io/bootstrapping": "rbac-defaults"}


def test_reconcile_copes_with_null_fields_as_storage_may_return_them() -> None:
    store = Store()
    reconcile_bootstrap_policy(store.get, store.put, store.put)
    crb = store.objects[("ClusterRoleBinding", "", "system:node")]
    crb["subjects"] = None
    crb["metadata"]["labels"] = None
    role_ = store.objects[("ClusterRole", "", "system:kube-dns")]
    role_["rules"] = None
    report = reconcile_bootstrap_policy(store.get, store.put, store.put)
    assert sorted(report.updated) == ["ClusterRole system:kube-dns",
                                      "ClusterRoleBinding system:node"]
    assert store.objects[("ClusterRole", "", "system:kube-dns")]["rules"]


def test_reconcile_leaves_autoupdate_false_objects_alone() -> None:
    store = Store()
    reconcile_bootstrap_policy(store.get, store.put, store.put)
    edit = store.objects[("ClusterRole", "", "system:node-proxier")]
    edit["metadata"]["annotations"][bootstrap_policy.AUTOUPDATE] = "false"
    edit["rules"] = []
    report = reconcile_bootstrap_policy(store.get, store.put, store.put)
    assert report.protected == ["ClusterRole system:node-proxier"]
    assert store.objects[("ClusterRole", "", "system:node-proxier")]["rules"] == []


def test_reconcile_recreates_a_binding_whose_role_ref_changed() -> None:
    store = Store()
    reconcile_bootstrap_policy(store.get, store.put, store.put, store.delete)
    store.objects[("ClusterRoleBinding", "", "system:discovery")]["roleRef"]["name"] = "view"
    actions = plan(store.get)
    assert [(a.verb, a.obj["metadata"]["name"]) for a in actions] == [
        ("recreate", "system:discovery")]
    reconcile_bootstrap_policy(store.get, store.put, store.put, store.delete)
    assert store.objects[("ClusterRoleBinding", "", "system:discovery")]["roleRef"]["name"] == \
        "system:discovery"


def test_every_default_object_is_labelled_and_auto_updated() -> None:
    names = set()
    for obj in bootstrap_policy.all_objects():
        meta = obj["metadata"]
        assert meta["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert meta["annotations"][bootstrap_policy.AUTOUPDATE] == "true"
        names.add(meta["name"])
    for name in ("cluster-admin", "admin", "edit", "view", "system:discovery",
                 "system:basic-user", "system:public-info-viewer", "system:node",
                 "system:node-proxier", "system:kube-scheduler",
                 "system:kube-controller-manager", "system:node-bootstrapper",
                 "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
                 "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
                 "system:kube-dns", "system:volume-scheduler", "system:monitoring",
                 "system:auth-delegator", "system:heapster",
                 "system:controller:deployment-controller",
                 "system:controller:replicaset-controller"):
        assert name in names


@pytest.mark.parametrize(("review", "body", "field", "words"), [
    ("access", {"spec": ["not", "an", "object"]}, "spec", "must be an object"),
    ("access", {"spec": {"resourceAttributes": "pods"}}, "spec.resourceAttributes",
     "must be an object"),
    ("access", {"spec": {"nonResourceAttributes": ["/healthz"]}},
     "spec.nonResourceAttributes", "must be an object"),
    ("access", {"spec": {"resourceAttributes": {"verb": "get"},
                         "nonResourceAttributes": {"path": "/"}}},
     "spec.resourceAttributes", "exactly one of"),
    ("subject", {"spec": {"user": 7, "nonResourceAttributes": {"path": "/"}}}, "spec.user",
     "user must be a string and groups a list"),
    ("subject", {"spec": {"groups": "dev", "nonResourceAttributes": {"path": "/"}}},
     "spec.user", "user must be a string and groups a list"),
    ("rules", {"spec": {"namespace": 3}}, "spec.namespace", "no namespace on request"),
    ("token", {"spec": {}}, "spec.token", "token is required"),
    ("token", {"spec": {"token": 12}}, "spec.token", "token is required"),
    ("token", {"spec": {"token": "abc", "audiences": "api"}}, "spec.audiences",
     "must be a list of strings"),
])
def test_bad_review_bodies_name_the_field(rbac: RBACAuthorizer, review: str, body: Any,
                                          field: str, words: str) -> None:
    chain = AuthorizerChain([rbac])
    calls = {
        "access": lambda: reviews.self_subject_access_review(body, DEV, chain),
        "subject": lambda: reviews.subject_access_review(body, chain),
        "rules": lambda: reviews.self_subject_rules_review(body, DEV, rbac.rules_for),
        "token": lambda: reviews.token_review(body, [], ["https://kubernetes.default.svc"]),
    }
    with pytest.raises(reviews.ReviewInvalid) as caught:
        calls[review]()
    assert field in str(caught.value) and words in str(caught.value)
