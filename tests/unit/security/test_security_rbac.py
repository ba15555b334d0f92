"""RBAC evaluation: rule matching, bindings, aggregation, reasons, escalation prevention."""

from __future__ import annotations

from typing import Any

import pytest
from security_testkit import (
    bind,
    policy_rule,
    resource_request,
    role,
    subject,
    url_request,
    user,
)

from kubeadmpy.security import bootstrap_policy
from kubeadmpy.security.authorizer import AuthorizerChain
from kubeadmpy.security.escalation import (
    EscalationForbidden,
    check_binding_write,
    check_role_write,
)
from kubeadmpy.security.identity import Attributes, Decision, UserInfo
from kubeadmpy.security.rbac import RBACAuthorizer

ALICE = user("alice", "dev")
CORE = [""]

# (rule, request builder, allowed?)
RULE_CASES: list[tuple[str, dict[str, Any], Attributes, bool]] = [
    ("a verb in the list matches", policy_rule("get list", CORE, "pods"),
     resource_request(ALICE, "list", "pods", "ns"), True),
    ("a verb not in the list does not", policy_rule("get list", CORE, "pods"),
     resource_request(ALICE, "delete", "pods", "ns", "p"), False),
    ("the * verb matches any verb", policy_rule("*", CORE, "pods"),
     resource_request(ALICE, "deletecollection", "pods", "ns"), True),
    ("another API group does not match", policy_rule("get", ["apps"], "deployments"),
     resource_request(ALICE, "get", "deployments", "ns", "d", group="extensions"), False),
    ("the * group matches every group", policy_rule("get", ["*"], "deployments"),
     resource_request(ALICE, "get", "deployments", "ns", "d", group="apps"), True),
    ("pods does not grant pods/log", policy_rule("get", CORE, "pods"),
     resource_request(ALICE, "get", "pods", "ns", "p", subresource="log"), False),
    ("pods/log grants the log subresource", policy_rule("get", CORE, "pods/log"),
     resource_request(ALICE, "get", "pods", "ns", "p", subresource="log"), True),
    ("pods/log does not grant the pod itself", policy_rule("get", CORE, "pods/log"),
     resource_request(ALICE, "get", "pods", "ns", "p"), False),
    ("*/scale grants any resource's scale", policy_rule("get", ["*"], "*/scale"),
     resource_request(ALICE, "get", "deployments", "ns", "d", "apps", "scale"), True),
    ("*/scale does not grant status", policy_rule("get", ["*"], "*/scale"),
     resource_request(ALICE, "get", "deployments", "ns", "d", "apps", "status"), False),
    ("the * resource grants subresources too", policy_rule("get", ["*"], "*"),
     resource_request(ALICE, "get", "pods", "ns", "p", subresource="exec"), True),
    ("resourceNames grant the named object", policy_rule("get", CORE, "configmaps", "a b"),
     resource_request(ALICE, "get", "configmaps", "ns", "b"), True),
    ("resourceNames refuse other names", policy_rule("get", CORE, "configmaps", "a b"),
     resource_request(ALICE, "get", "configmaps", "ns", "c"), False),
    ("resourceNames never grant list", policy_rule("list", CORE, "configmaps", "a"),
     resource_request(ALICE, "list", "configmaps", "ns"), False),
    ("a URL rule grants that exact path", policy_rule("get", [], urls="/healthz"),
     url_request(ALICE, "get", "/healthz"), True),
    ("a URL rule does not grant a longer path", policy_rule("get", [], urls="/healthz"),
     url_request(ALICE, "get", "/healthz/etcd"), False),
    ("a URL rule ending in * grants by prefix", policy_rule("get", [], urls="/apis/*"),
     url_request(ALICE, "get", "/apis/apps/v1"), True),
    ("the * URL grants every path", policy_rule("*", [], urls="*"),
     url_request(ALICE, "post", "/anything"), True),
    ("a resource rule never grants a URL", policy_rule("get", ["*"], "*"),
     url_request(ALICE, "get", "/metrics"), False),
    ("a URL rule never grants a resource", policy_rule("get", [], urls="*"),
     resource_request(ALICE, "get", "pods", "ns", "p"), False),
]


@pytest.mark.parametrize(("rule", "request_", "allowed"), [c[1:] for c in RULE_CASES],
                         ids=[c[0] for c in RULE_CASES])
def test_a_rule_bound_cluster_wide_decides_as_upstream(rule: dict[str, Any],
                                                       request_: Attributes,
                                                       allowed: bool) -> None:
    rbac = RBACAuthorizer()
    rbac.load([role("r", [rule]), bind("b", "r", [subject("User", "alice")])])
    assert rbac.authorize(request_).allowed is allowed


SUBJECT_CASES = [
    ("a User subject matches the user name", subject("User", "alice"), ALICE, True),
    ("a User subject does not match another user", subject("User", "bob"), ALICE, False),
    ("a Group subject matches a member", subject("Group", "dev"), ALICE, True),
    ("system:authenticated matches every authenticated user",
     subject("Group", "system:authenticated"), ALICE, True),
    ("a ServiceAccount subject matches its token's user",
     subject("ServiceAccount", "builder", "ns"),
     user("system:serviceaccount:ns:builder", "system:serviceaccounts"), True),
    ("a ServiceAccount subject in a RoleBinding defaults to the binding's namespace",
     subject("ServiceAccount", "builder"),
     user("system:serviceaccount:ns:builder", "system:serviceaccounts"), True),
    ("a ServiceAccount subject does not match the same name in another namespace",
     subject("ServiceAccount", "builder"),
     user("system:serviceaccount:other:builder", "system:serviceaccounts"), False),
]


@pytest.mark.parametrize(("subj", "who", "allowed"), [c[1:] for c in SUBJECT_CASES],
                         ids=[c[0] for c in SUBJECT_CASES])
def test_role_binding_subjects(subj: dict[str, str], who: UserInfo, allowed: bool) -> None:
    rbac = RBACAuthorizer()
    rbac.load([role("reader", [policy_rule("get", CORE, "pods")], namespace="ns"),
               bind("b", "reader", [subj], namespace="ns")])
    assert rbac.authorize(resource_request(who, "get", "pods", "ns", "p")).allowed is allowed


def test_a_role_binding_grants_only_in_its_namespace() -> None:
    rbac = RBACAuthorizer()
    rbac.load([role("view-pods", [policy_rule("get", CORE, "pods")]),
               bind("b", "view-pods", [subject("User", "alice")], namespace="team",
                    role_kind="ClusterRole")])
    assert rbac.authorize(resource_request(ALICE, "get", "pods", "team", "p")).allowed
    assert not rbac.authorize(resource_request(ALICE, "get", "pods", "other", "p")).allowed
    assert not rbac.authorize(resource_request(ALICE, "get", "pods")).allowed


def test_reasons_name_the_binding_role_and_subject_as_upstream() -> None:
    rbac = RBACAuthorizer()
    rbac.load([role("r", [policy_rule("get", CORE, "pods")]),
               bind("crb", "r", [subject("User", "alice")]),
               bind("rb", "r", [subject("Group", "dev")], namespace="ns",
                    role_kind="ClusterRole"),
               bind("sa", "r", [subject("ServiceAccount", "x")], namespace="ns",
                    role_kind="ClusterRole")])
    verdict = rbac.authorize(resource_request(ALICE, "get", "pods", "ns", "p"))
    assert verdict.reason == ('RBAC: allowed by ClusterRoleBinding "crb" of ClusterRole "r" '
                              'to User "alice"')
    bob = user("bob", "dev")
    assert rbac.authorize(resource_request(bob, "get", "pods", "ns", "p")).reason == (
        'RBAC: allowed by RoleBinding "rb/ns" of ClusterRole "r" to Group "dev"')
    sa = user("system:serviceaccount:ns:x", "system:serviceaccounts")
    assert rbac.authorize(resource_request(sa, "get", "pods", "ns", "p")).reason == (
        'RBAC: allowed by RoleBinding "sa/ns" of ClusterRole "r" to ServiceAccount "x/ns"')


def test_a_binding_to_a_missing_role_is_an_evaluation_error_not_an_exception() -> None:
    rbac = RBACAuthorizer()
    rbac.load([bind("b", "ghost", [subject("User", "alice")])])
    verdict = rbac.authorize(resource_request(ALICE, "get", "pods", "ns", "p"))
    assert verdict.decision is Decision.NO_OPINION
    assert 'clusterrole.rbac.authorization.k8s.io "ghost" not found' in verdict.error


def test_deleting_a_binding_or_role_takes_the_permission_away() -> None:
    rbac = RBACAuthorizer()
    rbac.load([role("r", [policy_rule("get", CORE, "pods")]),
               bind("b", "r", [subject("User", "alice")])])
    request = resource_request(ALICE, "get", "pods", "ns", "p")
    assert rbac.authorize(request).allowed
    rbac.delete("ClusterRoleBinding", "", "b")
    assert not rbac.authorize(request).allowed
    rbac.apply(bind("b", "r", [subject("User", "alice")]))
    assert rbac.authorize(request).allowed
    rbac.apply(bind("b", "r", [subject("User", "bob")]))  # replacing drops the old subject
    assert not rbac.authorize(request).allowed


def test_a_relist_replaces_every_object_of_its_kind() -> None:
    rbac = RBACAuthorizer()
    rbac.load([role("r", [policy_rule("get", CORE, "pods")]),
               bind("a", "r", [subject("User", "alice")]),
               bind("b", "r", [subject("User", "bob")])])
    bob = user("bob")
    request = resource_request(bob, "get", "pods", "ns", "p")
    assert rbac.authorize(request).allowed
    # binding "b" was deleted while the watch was down; the relist no longer has it
    rbac.replace_kind("ClusterRoleBinding", [bind("a", "r", [subject("User", "alice")])])
    assert not rbac.authorize(request).allowed
    assert rbac.authorize(resource_request(ALICE, "get", "pods", "ns", "p")).allowed
    rbac.replace_kind("ClusterRole", [])
    assert not rbac.authorize(resource_request(ALICE, "get", "pods", "ns", "p")).allowed


def test_aggregation_gathers_labelled_roles_and_follows_label_changes() -> None:
    rbac = RBACAuthorizer()
    rbac.load([role("monitoring", [], aggregate_labels={"example.com/agg": "true"}),
               role("a", [policy_rule("get", CORE, "pods")], labels={"example.com/agg": "true"}),
               role("b", [policy_rule("get", CORE, "nodes")]),
               bind("m", "monitoring", [subject("User", "alice")])])
    assert rbac.authorize(resource_request(ALICE, "get", "pods", "ns", "p")).allowed
    assert not rbac.authorize(resource_request(ALICE, "get", "nodes", "", "n")).allowed
    rbac.apply(role("b", [policy_rule("get", CORE, "nodes")], labels={"example.com/agg": "true"}))
    assert rbac.authorize(resource_request(ALICE, "get", "nodes", "", "n")).allowed
    rbac.delete("ClusterRole", "", "a")
    assert not rbac.authorize(resource_request(ALICE, "get", "pods", "ns", "p")).allowed


def bootstrap_rbac(*extra: dict[str, Any]) -> RBACAuthorizer:
    rbac = RBACAuthorizer()
    rbac.load([*bootstrap_policy.all_objects(), *extra])
    return rbac


def test_admin_edit_view_aggregate_in_a_chain_as_upstream() -> None:
    rbac = bootstrap_rbac()
    view = rbac.cluster_role_rules("view") or ()
    edit = rbac.cluster_role_rules("edit") or ()
    admin = rbac.cluster_role_rules("admin") or ()
    assert view and set(view) < set(edit) < set(admin)
    pods_log = resource_request(ALICE, "get", "pods", "ns", "p", subresource="log")
    assert any(r.allows(pods_log) for r in view)
    roles_write = resource_request(ALICE, "create", "roles", "ns", group="rbac.authorization.k8s.io")
    assert any(r.allows(roles_write) for r in admin)
    assert not any(r.allows(roles_write) for r in edit)
    secrets_read = resource_request(ALICE, "get", "secrets", "ns", "s")
    assert any(r.allows(secrets_read) for r in edit) and not any(r.allows(secrets_read)
                                                                  for r in view)


def test_a_dev_user_bound_to_edit_in_one_namespace_creates_deployments_there_only() -> None:
    rbac = bootstrap_rbac(bind("dev-edit", "edit", [subject("Group", "dev")], namespace="team-a",
                               role_kind="ClusterRole"))
    chain = AuthorizerChain([rbac])
    dev = user("carol", "dev")

    def can(verb: str, resource: str, namespace: str = "", group: str = "",
            name: str = "") -> bool:
        return chain(resource_request(dev, verb, resource, namespace, name, group)).allowed

    assert can("create", "deployments", "team-a", "apps")
    assert can("delete", "deployments", "team-a", "apps", "web")
    assert can("get", "secrets", "team-a", name="db")
    assert not can("create", "deployments", "team-b", "apps")
    assert not can("create", "deployments", "default", "apps")
    assert not can("list", "deployments", "", "apps")  # all namespaces
    assert not can("get", "nodes", name="n1")
    assert not can("create", "roles", "team-a", "rbac.authorization.k8s.io")  # admin only
    assert not can("update", "resourcequotas", "team-a")
    # every authenticated user may still discover the API and review itself
    assert chain(url_request(dev, "get", "/apis/apps/v1")).allowed
    assert can("create", "selfsubjectaccessreviews", group="authorization.k8s.io")
    assert not chain(url_request(dev, "get", "/metrics")).allowed


def test_default_policy_lets_anonymous_read_only_public_info() -> None:
    anonymous = UserInfo("system:anonymous", groups=("system:unauthenticated",))
    chain = AuthorizerChain([bootstrap_rbac()])
    assert chain(url_request(anonymous, "get", "/version")).allowed
    assert chain(url_request(anonymous, "get", "/healthz")).allowed
    assert not chain(url_request(anonymous, "get", "/api")).allowed
    assert not chain(resource_request(anonymous, "get", "configmaps", "kube-public",
                                      "cluster-info")).allowed


def test_kubeadms_cluster_info_role_lets_anonymous_read_only_cluster_info() -> None:
    anonymous = UserInfo("system:anonymous", groups=("system:unauthenticated",))
    chain = AuthorizerChain([bootstrap_rbac(
        role("kubeadm:bootstrap-signer-clusterinfo",
             [policy_rule("get", CORE, "configmaps", "cluster-info")], namespace="kube-public"),
        bind("kubeadm:bootstrap-signer-clusterinfo", "kubeadm:bootstrap-signer-clusterinfo",
             [subject("User", "system:anonymous")], namespace="kube-public"))])
    assert chain(resource_request(anonymous, "get", "configmaps", "kube-public",
                                  "cluster-info")).allowed
    assert not chain(resource_request(anonymous, "get", "configmaps", "kube-public",
                                      "other")).allowed
    assert not chain(resource_request(anonymous, "list", "configmaps", "kube-public")).allowed
    assert not chain(resource_request(anonymous, "get", "configmaps", "kube-system",
                                      "cluster-info")).allowed


def test_a_joining_nodes_bootstrap_token_may_only_ask_for_its_certificate() -> None:
    group = "system:bootstrappers:kubeadm:default-node-token"
    chain = AuthorizerChain([bootstrap_rbac(
        bind("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", [subject("Group", group)]),
        bind("kubeadm:node-autoapprove-bootstrap",
             "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
             [subject("Group", group)]),
        role("kubeadm:get-nodes", [policy_rule("get", CORE, "nodes")]),
        bind("kubeadm:get-nodes", "kubeadm:get-nodes", [subject("Group", group)]))])
    joiner = user("system:bootstrap:abcdef", "system:bootstrappers", group)
    csr = "certificates.k8s.io"
    assert chain(resource_request(joiner, "create", "certificatesigningrequests",
                                  group=csr)).allowed
    assert chain(resource_request(joiner, "create", "certificatesigningrequests", name="c",
                                  group=csr, subresource="nodeclient")).allowed
    assert not chain(resource_request(joiner, "create", "certificatesigningrequests",
                                      name="c", group=csr, subresource="selfnodeclient")).allowed
    assert chain(resource_request(joiner, "get", "nodes", name="worker-1")).allowed
    assert not chain(resource_request(joiner, "list", "secrets", "kube-system")).allowed
    assert not chain(resource_request(joiner, "update", "certificatesigningrequests", name="c",
                                      group=csr, subresource="approval")).allowed


def test_controller_service_accounts_get_their_controller_roles() -> None:
    chain = AuthorizerChain([bootstrap_rbac()])
    sa = user("system:serviceaccount:kube-system:deployment-controller",
              "system:serviceaccounts", "system:serviceaccounts:kube-system")
    assert chain(resource_request(sa, "create", "replicasets", "ns", group="apps")).allowed
    assert chain(resource_request(sa, "update", "deployments", "ns", "d", "apps",
                                  "status")).allowed
    assert not chain(resource_request(sa, "get", "secrets", "ns", "s")).allowed
    scheduler = user("system:kube-scheduler")
    assert chain(resource_request(scheduler, "create", "pods", "ns", "p", "",
                                  "binding")).allowed
    assert not chain(resource_request(scheduler, "create", "deployments", "ns",
                                      group="apps")).allowed


def test_system_masters_is_allowed_without_any_binding() -> None:
    chain = AuthorizerChain([RBACAuthorizer()])
    admin = user("kubernetes-admin", "system:masters")
    assert chain(resource_request(admin, "delete", "nodes", "", "n1")).allowed


def test_rules_for_lists_cluster_and_namespace_rules() -> None:
    rbac = RBACAuthorizer()
    rbac.load([role("c", [policy_rule("get", CORE, "nodes")]),
               role("r", [policy_rule("list", CORE, "pods")], namespace="ns"),
               bind("cb", "c", [subject("User", "alice")]),
               bind("rb", "r", [subject("User", "alice")], namespace="ns")])
    in_ns, errors = rbac.rules_for(ALICE, "ns")
    elsewhere, _ = rbac.rules_for(ALICE, "other")
    assert not errors
    assert {r.describe() for r in in_ns} == {'{APIGroups:[""], Resources:["nodes"], '
                                             'Verbs:["get"]}',
                                             '{APIGroups:[""], Resources:["pods"], '
                                             'Verbs:["list"]}'}
    assert len(elsewhere) == 1


# ---- escalation prevention ------------------------------------------------------------------

def escalation_setup(*rules: dict[str, Any]) -> tuple[RBACAuthorizer, AuthorizerChain]:
    rbac = RBACAuthorizer()
    rbac.load([role("held", list(rules), namespace="ns"),
               bind("held", "held", [subject("User", "alice")], namespace="ns")])
    return rbac, AuthorizerChain([rbac])


ROLE_WRITE = policy_rule("create get list update", ["rbac.authorization.k8s.io"],
                         "roles rolebindings")


def test_a_user_may_create_a_role_with_rules_they_hold() -> None:
    rbac, chain = escalation_setup(ROLE_WRITE, policy_rule("get list", CORE, "pods"))
    check_role_write(rbac, chain, ALICE, role("r", [policy_rule("get", CORE, "pods")],
                                              namespace="ns"))


def test_a_user_may_not_create_a_role_granting_more_than_they_hold() -> None:
    rbac, chain = escalation_setup(ROLE_WRITE, policy_rule("get list", CORE, "pods"))
    with pytest.raises(EscalationForbidden) as caught:
        check_role_write(rbac, chain, ALICE, role("r", [policy_rule("get delete", CORE,
                                                                    "pods secrets")],
                                                  namespace="ns"))
    message = str(caught.value)
    assert message.startswith('roles.rbac.authorization.k8s.io "r" is forbidden: user "alice"')
    assert "attempting to grant RBAC permissions not currently held" in message
    assert '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}' in message
    assert '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}' in message


def test_the_escalate_verb_allows_granting_more() -> None:
    rbac, chain = escalation_setup(ROLE_WRITE, policy_rule("escalate", ["rbac.authorization.k8s.io"],
                                                           "roles"))
    check_role_write(rbac, chain, ALICE, role("r", [policy_rule("*", ["*"], "*")],
                                              namespace="ns"))


def test_an_aggregating_cluster_role_needs_full_authority() -> None:
    rbac, chain = escalation_setup(policy_rule("*", CORE, "*"))
    with pytest.raises(EscalationForbidden):
        check_role_write(rbac, chain, ALICE, role("agg", [], aggregate_labels={"x": "y"}))


def test_binding_needs_the_roles_rules_or_the_bind_verb() -> None:
    rbac, chain = escalation_setup(ROLE_WRITE, policy_rule("get", CORE, "pods"))
    rbac.load([role("big", [policy_rule("*", CORE, "secrets")], namespace="ns"),
               role("small", [policy_rule("get", CORE, "pods")], namespace="ns")])
    check_binding_write(rbac, chain, ALICE, bind("ok", "small", [subject("User", "bob")],
                                                 namespace="ns"))
    with pytest.raises(EscalationForbidden) as caught:
        check_binding_write(rbac, chain, ALICE, bind("no", "big", [subject("User", "bob")],
                                                     namespace="ns"))
    assert 'rolebindings.rbac.authorization.k8s.io "no" is forbidden' in str(caught.value)
    rbac.apply(role("held", [ROLE_WRITE, policy_rule("bind", ["rbac.authorization.k8s.io"],
                                                     "roles", "big")], namespace="ns"))
    check_binding_write(rbac, chain, ALICE, bind("no", "big", [subject("User", "bob")],
                                                 namespace="ns"))


def test_resource_names_and_url_prefixes_in_escalation_coverage() -> None:
    rbac, chain = escalation_setup(
        ROLE_WRITE, policy_rule("get", CORE, "configmaps", "a b"),
        policy_rule("get", ["*"], "*/scale"))
    check_role_write(rbac, chain, ALICE, role("r", [policy_rule("get", CORE, "configmaps", "a"),
                                                    policy_rule("get", ["apps"],
                                                                "deployments/scale")],
                                              namespace="ns"))
    with pytest.raises(EscalationForbidden):  # held only for names a and b, not for all
        check_role_write(rbac, chain, ALICE, role("r", [policy_rule("get", CORE, "configmaps")],
                                                  namespace="ns"))
    cluster = RBACAuthorizer()
    cluster.load([role("u", [policy_rule("create update", ["rbac.authorization.k8s.io"],
                                         "clusterroles"),
                             policy_rule("get", [], urls="/logs/*")]),
                  bind("u", "u", [subject("User", "alice")])])
    check_role_write(cluster, AuthorizerChain([cluster]), ALICE,
                     role("c", [policy_rule("get", [], urls="/logs/kube")]))
    with pytest.raises(EscalationForbidden):
        check_role_write(cluster, AuthorizerChain([cluster]), ALICE,
                         role("c", [policy_rule("get", [], urls="/metrics")]))


def test_removing_a_finalizer_needs_no_escalation_rights() -> None:
    rbac, chain = escalation_setup(ROLE_WRITE)
    stored = role("big", [policy_rule("*", ["*"], "*")], namespace="ns")
    stored["metadata"]["finalizers"] = ["example.com/cleanup"]
    cleaned = role("big", [policy_rule("*", ["*"], "*")], namespace="ns")
    check_role_write(rbac, chain, ALICE, cleaned, old=stored)
    relabelled = role("big", [policy_rule("*", ["*"], "*")], namespace="ns", labels={"a": "b"})
    with pytest.raises(EscalationForbidden):
        check_role_write(rbac, chain, ALICE, relabelled, old=stored)
