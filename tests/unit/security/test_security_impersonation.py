"""Impersonation: each impersonated attribute needs the impersonate verb on it."""

from __future__ import annotations

import pytest
from security_testkit import bind, policy_rule, role, subject, user

from kubeadmpy.security.authorizer import AuthorizerChain
from kubeadmpy.security.impersonation import ImpersonationError, impersonate
from kubeadmpy.security.rbac import RBACAuthorizer

ADMIN = user("admin", "system:masters")
SUPPORT = user("support")


def chain() -> AuthorizerChain:
    rbac = RBACAuthorizer()
    rbac.load([role("impersonate-carol", [policy_rule("impersonate", [""], "users", "carol")]),
               bind("support", "impersonate-carol", [subject("User", "support")])])
    return AuthorizerChain([rbac])


def test_no_headers_means_no_change() -> None:
    assert impersonate(SUPPORT, [("Accept", "application/json")], chain()) is SUPPORT


def test_an_admin_becomes_a_user_with_groups_uid_and_extra() -> None:
    who = impersonate(ADMIN, [("Impersonate-User", "carol"), ("Impersonate-Group", "dev"),
                              ("Impersonate-Group", "qa"), ("Impersonate-Uid", "42"),
                              ("Impersonate-Extra-Scopes%2Fv1", "view")], chain())
    assert (who.name, who.uid, who.groups) == ("carol", "42",
                                               ("dev", "qa", "system:authenticated"))
    assert who.extra == {"scopes/v1": ("view",)}


def test_impersonating_a_service_account_adds_its_groups() -> None:
    who = impersonate(ADMIN, [("Impersonate-User", "system:serviceaccount:ns:builder")],
                      chain())
    assert who.groups == ("system:serviceaccounts", "system:serviceaccounts:ns",
                          "system:authenticated")
    anonymous = impersonate(ADMIN, [("Impersonate-User", "system:anonymous")], chain())
    assert anonymous.groups == ("system:unauthenticated",)


def test_rights_are_checked_per_attribute() -> None:
    assert impersonate(SUPPORT, [("Impersonate-User", "carol")], chain()).name == "carol"
    with pytest.raises(ImpersonationError) as caught:
        impersonate(SUPPORT, [("Impersonate-User", "dave")], chain())
    assert caught.value.code == 403
    assert 'User "support" cannot impersonate resource "users" in API group ""' in \
        str(caught.value)
    with pytest.raises(ImpersonationError, match='resource "groups"'):
        impersonate(SUPPORT, [("Impersonate-User", "carol"),
                              ("Impersonate-Group", "system:masters")], chain())


def test_groups_without_a_user_are_a_bad_request() -> None:
    with pytest.raises(ImpersonationError) as caught:
        impersonate(ADMIN, [("Impersonate-Group", "dev")], chain())
    assert caught.value.code == 400
