"""The default RBAC policy kube-apiserver reconciles on start, as data.

Rules, names, labels and bindings are upstream's (bootstrappolicy/policy.go and
namespace_policy.go, Kubernetes 1.33); controller roles live in controller_policy.py. Every
object carries the `kubernetes.io/bootstrapping: rbac-defaults` label and the
`rbac.authorization.kubernetes.io/autoupdate: "true"` annotation that reconciliation honours.
"""

from __future__ import annotations

from typing import Any

from kubeadmpy.security.controller_policy import controller_bindings, controller_roles
from kubeadmpy.security.policy_rules import EDIT, EVENTS, READ, READ_WRITE, rule, urls

API_VERSION = "rbac.authorization.k8s.io/v1"
BOOTSTRAP_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"


def cluster_role(name: str, rules: list[dict[str, Any]], *, labels: dict[str, str] | None = None,
                 aggregate_from: str = "") -> dict[str, Any]:
    role: dict[str, Any] = {
        "apiVersion": API_VERSION, "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {**BOOTSTRAP_LABEL, **(labels or {})},
                     "annotations": {AUTOUPDATE: "true"}},
        "rules": rules,
    }
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {AGGREGATE_TO + aggregate_from: "true"}}]}
    return role


def role(namespace: str, name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "Role",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(BOOTSTRAP_LABEL),
                         "annotations": {AUTOUPDATE: "true"}},
            "rules": rules}


def subject(kind: str, name: str, namespace: str = "") -> dict[str, str]:
    if kind == "ServiceAccount":
        return {"kind": kind, "name": name, "namespace": namespace}
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}


def binding(kind: str, name: str, role_kind: str, role_name: str, subjects: list[dict[str, str]],
            namespace: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(BOOTSTRAP_LABEL),
                            "annotations": {AUTOUPDATE: "true"}}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                        "name": role_name},
            "subjects": subjects}


def _to(kind: str) -> dict[str, str]:
    return {AGGREGATE_TO + kind: "true"}


_LEASE_RULES = [rule("create", "coordination.k8s.io", "leases")]
_APPROVER = "system:certificates.k8s.io:"


def _leader(component: str) -> list[dict[str, Any]]:
    return [*_LEASE_RULES, rule("get update", "coordination.k8s.io", "leases", component)]


def node_rules() -> list[dict[str, Any]]:
    """system:node's rules; the Node authorizer also uses them for non-graph resources."""
    return [
        rule("create", "authentication.k8s.io", "tokenreviews"),
        rule("create", "authorization.k8s.io", "localsubjectaccessreviews subjectaccessreviews"),
        rule(READ, "core", "services"),
        rule(f"create {READ}", "core", "nodes"),
        rule("patch update", "core", "nodes/status"),
        rule("patch update", "core", "nodes"),
        rule("create patch update", "core", "events"),
        rule(READ, "core", "pods"),
        rule("create delete", "core", "pods"),
        rule("patch update", "core", "pods/status"),
        rule("create", "core", "pods/eviction"),
        rule(READ, "core", "configmaps secrets"),
        rule("get", "core", "persistentvolumeclaims persistentvolumes"),
        rule("get", "core", "endpoints"),
        rule(f"create {READ}", "certificates.k8s.io", "certificatesigningrequests"),
        rule("create delete get patch update", "coordination.k8s.io", "leases"),
        rule("get", "storage.k8s.io", "volumeattachments"),
        rule("create", "core", "serviceaccounts/token"),
        rule("get patch update", "core", "persistentvolumeclaims/status"),
        rule(READ, "storage.k8s.io", "csidrivers"),
        rule("create delete get patch update", "storage.k8s.io", "csinodes"),
        rule(READ, "node.k8s.io", "runtimeclasses"),
    ]


def _aggregate_to_edit() -> list[dict[str, Any]]:
    return [
        rule(READ, "core", "pods/attach pods/exec pods/portforward pods/proxy secrets "
             "services/proxy"),
        rule("impersonate", "core", "serviceaccounts"),
        rule(READ_WRITE, "core", "pods pods/attach pods/exec pods/portforward pods/proxy"),
        rule("create", "core", "pods/eviction"),
        rule(READ_WRITE, "core", "configmaps events persistentvolumeclaims replicationcontrollers "
             "replicationcontrollers/scale secrets serviceaccounts services services/proxy"),
        rule("create", "core", "serviceaccounts/token"),
        rule(READ_WRITE, "apps", "daemonsets deployments deployments/rollback deployments/scale "
             "replicasets replicasets/scale statefulsets statefulsets/scale"),
        rule(READ_WRITE, "autoscaling", "horizontalpodautoscalers"),
        rule(READ_WRITE, "batch", "cronjobs jobs"),
        rule(READ_WRITE, "extensions", "daemonsets deployments deployments/rollback "
             "deployments/scale ingresses networkpolicies replicasets replicasets/scale "
             "replicationcontrollers/scale"),
        rule(READ_WRITE, "policy", "poddisruptionbudgets"),
        rule(READ_WRITE, "networking.k8s.io", "ingresses networkpolicies"),
        rule(EDIT, "coordination.k8s.io", "leases"),
    ]


def _aggregate_to_view() -> list[dict[str, Any]]:
    return [
        rule(READ, "core", "configmaps endpoints persistentvolumeclaims "
             "persistentvolumeclaims/status pods replicationcontrollers "
             "replicationcontrollers/scale serviceaccounts services services/status"),
        rule(READ, "core", "bindings events limitranges namespaces/status pods/log pods/status "
             "replicationcontrollers/status resourcequotas resourcequotas/status"),
        rule(READ, "core", "namespaces"),
        rule(READ, "discovery.k8s.io", "endpointslices"),
        rule(READ, "apps", "controllerrevisions daemonsets daemonsets/status deployments "
             "deployments/scale deployments/status replicasets replicasets/scale "
             "replicasets/status statefulsets statefulsets/scale statefulsets/status"),
        rule(READ, "autoscaling", "horizontalpodautoscalers horizontalpodautoscalers/status"),
        rule(READ, "batch", "cronjobs cronjobs/status jobs jobs/status"),
        rule(READ, "extensions", "daemonsets daemonsets/status deployments deployments/scale "
             "deployments/status ingresses ingresses/status networkpolicies replicasets "
             "replicasets/scale replicasets/status replicationcontrollers/scale"),
        rule(READ, "policy", "poddisruptionbudgets poddisruptionbudgets/status"),
        rule(READ, "networking.k8s.io", "ingresses ingresses/status networkpolicies"),
    ]


def _scheduler_rules() -> list[dict[str, Any]]:
    return [
        EVENTS, *_leader("kube-scheduler"),
        rule(READ, "core", "nodes"),
        rule(f"delete {READ}", "core", "pods"),
        rule("create", "core", "bindings pods/binding"),
        rule("patch update", "core", "pods/status"),
        rule(READ, "core", "replicationcontrollers services"),
        rule(READ, "apps extensions", "replicasets"),
        rule(READ, "apps", "statefulsets"),
        rule(READ, "policy", "poddisruptionbudgets"),
        rule(READ, "core", "persistentvolumeclaims persistentvolumes"),
        rule("create", "authentication.k8s.io", "tokenreviews"),
        rule("create", "authorization.k8s.io", "subjectaccessreviews"),
        rule(READ, "storage.k8s.io", "csinodes"),
        rule(READ, "core", "namespaces"),
        rule(READ, "storage.k8s.io", "csidrivers"),
        rule(READ, "storage.k8s.io", "csistoragecapacities"),
    ]


def _controller_manager_rules() -> list[dict[str, Any]]:
    return [
        EVENTS, *_leader("kube-controller-manager"),
        rule("create", "core", "secrets serviceaccounts"),
        rule("delete", "core", "secrets"),
        rule("get", "core", "configmaps namespaces secrets serviceaccounts"),
        rule("update", "core", "secrets serviceaccounts"),
        rule("create", "authentication.k8s.io", "tokenreviews"),
        rule("create", "authorization.k8s.io", "subjectaccessreviews"),
        rule("list watch", "*", "*"),
        rule("create", "core", "serviceaccounts/token"),
    ]


def _approver(signer: str) -> dict[str, Any]:
    return cluster_role(f"{_APPROVER}{signer}-approver",
                        [rule("approve", "certificates.k8s.io", "signers", f"kubernetes.io/{signer}")])


def cluster_roles() -> list[dict[str, Any]]:
    """Every default ClusterRole, controller roles included."""
    roles = [
        cluster_role("cluster-admin", [rule("*", "*", "*"), urls("*", "*")]),
        cluster_role("admin", [], aggregate_from="admin"),
        cluster_role("edit", [], labels=_to("admin"), aggregate_from="edit"),
        cluster_role("view", [], labels=_to("edit"), aggregate_from="view"),
        cluster_role("system:aggregate-to-admin", [
            rule("create", "authorization.k8s.io", "localsubjectaccessreviews"),
            rule(EDIT, "rbac.authorization.k8s.io", "rolebindings roles")], labels=_to("admin")),
        cluster_role("system:aggregate-to-edit", _aggregate_to_edit(), labels=_to("edit")),
        cluster_role("system:aggregate-to-view", _aggregate_to_view(), labels=_to("view")),
        cluster_role("system:auth-delegator", [
            rule("create", "authentication.k8s.io", "tokenreviews"),
            rule("create", "authorization.k8s.io", "subjectaccessreviews")]),
        cluster_role("system:basic-user", [
            rule("create", "authorization.k8s.io",
                 "selfsubjectaccessreviews selfsubjectrulesreviews"),
            rule("create", "authentication.k8s.io", "selfsubjectreviews")]),
        cluster_role(f"{_APPROVER}certificatesigningrequests:nodeclient", [
            rule("create", "certificates.k8s.io", "certificatesigningrequests/nodeclient")]),
        cluster_role(f"{_APPROVER}certificatesigningrequests:selfnodeclient", [
            rule("create", "certificates.k8s.io", "certificatesigningrequests/selfnodeclient")]),
        _approver("kube-apiserver-client"),
        _approver("kube-apiserver-client-kubelet"),
        _approver("kubelet-serving"),
        _approver("legacy-unknown"),
        cluster_role("system:discovery", [urls("get", "/api /api/* /apis /apis/* /healthz "
                                               "/livez /openapi /openapi/* /readyz /version "
                                               "/version/")]),
        cluster_role("system:heapster", [rule(READ, "core", "events namespaces nodes pods"),
                                         rule(READ, "extensions", "deployments")]),
        cluster_role("system:kube-aggregator", [rule(READ, "core", "endpoints services")]),
        cluster_role("system:kube-controller-manager", _controller_manager_rules()),
        cluster_role("system:kube-dns", [rule("list watch", "core", "endpoints services")]),
        cluster_role("system:kube-scheduler", _scheduler_rules()),
        cluster_role("system:kubelet-api-admin", [
            rule(READ, "core", "nodes"), rule("proxy", "core", "nodes"),
            rule("*", "core", "nodes/log nodes/metrics nodes/proxy nodes/stats")]),
        cluster_role("system:monitoring", [urls("get", "/healthz /healthz/* /livez /livez/* "
                                                "/metrics /metrics/slis /readyz /readyz/*")]),
        cluster_role("system:node", node_rules()),
        cluster_role("system:node-bootstrapper", [
            rule(f"create {READ}", "certificates.k8s.io", "certificatesigningrequests")]),
        cluster_role("system:node-problem-detector", [
            rule("get", "core", "nodes"), rule("patch", "core", "nodes/status"), EVENTS]),
        cluster_role("system:node-proxier", [
            rule("list watch", "core", "endpoints services"), rule(READ, "core", "nodes"),
            EVENTS, rule("list watch", "discovery.k8s.io", "endpointslices")]),
        cluster_role("system:persistent-volume-provisioner", [
            rule(f"create delete {READ}", "core", "persistentvolumes"),
            rule(f"{READ} update", "core", "persistentvolumeclaims"),
            rule(READ, "storage.k8s.io", "storageclasses"),
            rule("watch", "core", "events"), EVENTS]),
        cluster_role("system:public-info-viewer", [
            urls("get", "/healthz /livez /readyz /version /version/")]),
        cluster_role("system:service-account-issuer-discovery", [
            urls("get", "/.well-known/openid-configuration /openid/v1/jwks")]),
        cluster_role("system:volume-scheduler", [
            rule(f"{READ} patch update", "core", "persistentvolumes"),
            rule(READ, "storage.k8s.io", "storageclasses"),
            rule(f"{READ} patch update", "core", "persistentvolumeclaims")]),
    ]
    return roles + [cluster_role(name, rules) for name, rules in controller_roles()]


def cluster_role_bindings() -> list[dict[str, Any]]:
    def crb(name: str, *subjects: dict[str, str]) -> dict[str, Any]:
        return binding("ClusterRoleBinding", name, "ClusterRole", name, list(subjects))

    authenticated = subject("Group", "system:authenticated")
    return [
        crb("cluster-admin", subject("Group", "system:masters")),
        crb("system:basic-user", authenticated),
        crb("system:discovery", authenticated),
        crb("system:public-info-viewer", authenticated,
            subject("Group", "system:unauthenticated")),
        crb("system:kube-controller-manager", subject("User", "system:kube-controller-manager")),
        crb("system:kube-dns", subject("ServiceAccount", "kube-dns", "kube-system")),
        crb("system:kube-scheduler", subject("User", "system:kube-scheduler")),
        crb("system:monitoring", subject("Group", "system:monitoring")),
        # no subjects: kubelets are authorized by the Node authorizer, not by this binding
        crb("system:node"),
        crb("system:node-proxier", subject("User", "system:kube-proxy")),
        crb("system:service-account-issuer-discovery", subject("Group",
                                                               "system:serviceaccounts")),
        crb("system:volume-scheduler", subject("User", "system:kube-scheduler")),
        *[binding("ClusterRoleBinding", name, "ClusterRole", name,
                  [subject("ServiceAccount", sa, "kube-system")])
          for name, sa in controller_bindings()],
    ]


def namespaced_roles() -> list[dict[str, Any]]:
    leases = [rule("create get list update watch", "coordination.k8s.io", "leases"),
              rule("create get list update watch", "coordination.k8s.io", "leasecandidates")]
    return [
        role("kube-public", "system:controller:bootstrap-signer", [
            rule(READ, "core", "configmaps"),
            rule("update", "core", "configmaps", "cluster-info"), EVENTS]),
        role("kube-system", "extension-apiserver-authentication-reader", [
            rule(READ, "core", "configmaps", "extension-apiserver-authentication")]),
        role("kube-system", "system::leader-locking-kube-controller-manager", leases),
        role("kube-system", "system::leader-locking-kube-scheduler", leases),
        role("kube-system", "system:controller:bootstrap-signer", [rule(READ, "core", "secrets")]),
        role("kube-system", "system:controller:cloud-provider", [
            rule(f"create {READ}", "core", "configmaps")]),
        role("kube-system", "system:controller:token-cleaner", [
            rule(f"delete {READ}", "core", "secrets"), EVENTS]),
    ]


def namespaced_role_bindings() -> list[dict[str, Any]]:
    def rb(namespace: str, name: str, role_name: str, *subjects: dict[str, str]) -> dict[str, Any]:
        return binding("RoleBinding", name, "Role", role_name, list(subjects), namespace)

    def sa(name: str) -> dict[str, str]:
        return subject("ServiceAccount", name, "kube-system")

    return [
        rb("kube-public", "system:controller:bootstrap-signer",
           "system:controller:bootstrap-signer", sa("bootstrap-signer")),
        rb("kube-system", "system::extension-apiserver-authentication-reader",
           "extension-apiserver-authentication-reader",
           subject("User", "system:kube-controller-manager"),
           subject("User", "system:kube-scheduler")),
        rb("kube-system", "system::leader-locking-kube-controller-manager",
           "system::leader-locking-kube-controller-manager",
           subject("User", "system:kube-controller-manager"), sa("kube-controller-manager")),
        rb("kube-system", "system::leader-locking-kube-scheduler",
           "system::leader-locking-kube-scheduler",
           subject("User", "system:kube-scheduler"), sa("kube-scheduler")),
        rb("kube-system", "system:controller:bootstrap-signer",
           "system:controller:bootstrap-signer", sa("bootstrap-signer")),
        rb("kube-system", "system:controller:cloud-provider", "system:controller:cloud-provider",
           sa("cloud-provider")),
        rb("kube-system", "system:controller:token-cleaner", "system:controller:token-cleaner",
           sa("token-cleaner")),
    ]


def all_objects() -> list[dict[str, Any]]:
    """The whole default policy, in the order kube-apiserver reconciles it."""
    return [*cluster_roles(), *cluster_role_bindings(), *namespaced_roles(),
            *namespaced_role_bindings()]
