"""Each cluster controller's writes are allowed to the service account the registry gives it,
under upstream's bootstrap RBAC policy (kubeadmpy.security) — so the controllers keep working
when --use-service-account-credentials runs them as system:serviceaccount:kube-system:<sa> and
the API server enforces RBAC. Reads go through the shared informers, which run as the
controller-manager's own identity (system:kube-controller-manager), as upstream."""

from __future__ import annotations

import pytest

from kubeadmpy.controllers.registry import BY_NAME
from kubeadmpy.security.bootstrap_policy import all_objects
from kubeadmpy.security.identity import Attributes, UserInfo
from kubeadmpy.security.rbac import RBACAuthorizer

# (controller, verb, group, resource, subresource, namespace, name): what each one sends.
WRITES = [
    ("node-ipam-controller", "patch", "", "nodes", "", "", "n1"),
    ("node-lifecycle-controller", "update", "", "nodes", "status", "", "n1"),
    ("node-lifecycle-controller", "update", "", "nodes", "", "", "n1"),
    ("taint-eviction-controller", "patch", "", "pods", "status", "ns", "p"),
    ("taint-eviction-controller", "delete", "", "pods", "", "ns", "p"),
    ("taint-eviction-controller", "create", "", "events", "", "ns", ""),
    ("node-lifecycle-controller", "create", "", "events", "", "default", ""),
    ("node-lifecycle-controller", "update", "", "pods", "status", "ns", "p"),
    ("endpoints-controller", "create", "", "endpoints", "", "ns", "svc"),
    ("endpoints-controller", "update", "", "endpoints", "", "ns", "svc"),
    ("endpoints-controller", "delete", "", "endpoints", "", "ns", "svc"),
    ("endpointslice-controller", "create", "discovery.k8s.io", "endpointslices", "", "ns", ""),
    ("endpointslice-controller", "update", "discovery.k8s.io", "endpointslices", "", "ns", "s"),
    ("endpointslice-controller", "delete", "discovery.k8s.io", "endpointslices", "", "ns", "s"),
    ("serviceaccount-controller", "create", "", "serviceaccounts", "", "ns", ""),
    ("root-ca-certificate-publisher-controller", "create", "", "configmaps", "", "ns", ""),
    ("root-ca-certificate-publisher-controller", "update", "", "configmaps", "", "ns",
     "kube-root-ca.crt"),
    ("certificatesigningrequest-approving-controller", "create", "authorization.k8s.io",
     "subjectaccessreviews", "", "", ""),
    ("certificatesigningrequest-approving-controller", "update", "certificates.k8s.io",
     "certificatesigningrequests", "approval", "", "csr"),
    ("certificatesigningrequest-approving-controller", "approve", "certificates.k8s.io",
     "signers", "", "", "kubernetes.io/kube-apiserver-client-kubelet"),
    ("certificatesigningrequest-signing-controller", "update", "certificates.k8s.io",
     "certificatesigningrequests", "status", "", "csr"),
    *(("certificatesigningrequest-signing-controller", "sign", "certificates.k8s.io",
       "signers", "", "", signer) for signer in (
        "kubernetes.io/kube-apiserver-client", "kubernetes.io/kube-apiserver-client-kubelet",
        "kubernetes.io/kubelet-serving")),
    ("bootstrap-signer-controller", "update", "", "configmaps", "", "kube-public",
     "cluster-info"),
    ("token-cleaner-controller", "delete", "", "secrets", "", "kube-system",
     "bootstrap-token-abcdef"),
    ("persistentvolume-binder-controller", "update", "", "persistentvolumes", "", "", "pv"),
    ("persistentvolume-binder-controller", "create", "", "events", "", "ns", ""),
    ("persistentvolume-binder-controller", "update", "", "persistentvolumes", "status", "",
     "pv"),
    ("persistentvolume-binder-controller", "update", "", "persistentvolumeclaims", "", "ns",
     "c"),
    ("persistentvolume-binder-controller", "update", "", "persistentvolumeclaims", "status",
     "ns", "c"),
]


@pytest.fixture(scope="module")
def rbac() -> RBACAuthorizer:
    authorizer = RBACAuthorizer()
    authorizer.load(all_objects())
    return authorizer


@pytest.mark.parametrize(("controller", "verb", "group", "resource", "subresource",
                          "namespace", "name"), WRITES,
                         ids=[f"{w[0]} may {w[1]} {w[3]}{'/' + w[4] if w[4] else ''}"
                              for w in WRITES])
def test_the_controllers_service_account_may_do_what_it_does(
        rbac: RBACAuthorizer, controller: str, verb: str, group: str, resource: str,
        subresource: str, namespace: str, name: str) -> None:
    account = BY_NAME[controller].service_account
    user = UserInfo(f"system:serviceaccount:kube-system:{account}", groups=(
        "system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"))
    verdict = rbac.authorize(Attributes(user, verb, True, group, "v1", resource, subresource,
                                        namespace, name))
    assert verdict.allowed, f"{account}: {verdict.reason or verdict.error}"


def test_a_controller_may_not_write_outside_its_role(rbac: RBACAuthorizer) -> None:
    user = UserInfo("system:serviceaccount:kube-system:service-account-controller",
                    groups=("system:serviceaccounts", "system:authenticated"))
    verdict = rbac.authorize(Attributes(user, "delete", True, "", "v1", "secrets", "",
                                        "kube-system", "x"))
    assert not verdict.allowed
