"""Escalation prevention for RBAC writes: nobody grants what they do not hold.

As upstream's rbac REST storage: creating or updating a Role/ClusterRole is allowed when the
user may `escalate` on it or already holds every rule in it (an aggregating ClusterRole counts
as holding everything); creating or updating a binding is allowed when the user may `bind` the
referenced role or holds every rule of that role. system:masters bypasses both checks.
Refusals are `EscalationForbidden` with upstream's message listing the missing permissions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.security.identity import MASTERS, Attributes, UserInfo, Verdict
from kubeadmpy.security.rbac import CLUSTER_ROLE, ROLE, RBACAuthorizer
from kubeadmpy.security.rbac_rules import Rule, rules_from_api, uncovered

RBAC_GROUP = "rbac.authorization.k8s.io"
FULL_AUTHORITY = (Rule(frozenset({"*"}), frozenset({"*"}), frozenset({"*"})),
                  Rule(frozenset({"*"}), non_resource_urls=frozenset({"*"})))


class EscalationForbidden(KubeadmpyError):
    """A role or binding write that would grant permissions the user lacks (HTTP 403)."""

    def __init__(self, resource: str, name: str, message: str) -> None:
        self.resource = resource
        self.name = name
        super().__init__(f'{resource}.{RBAC_GROUP} "{name}" is forbidden: {message}')


# the server's whole authorizer chain (privileged groups, Node, RBAC)
Authorize = Callable[[Attributes], Verdict]


def _may(authorize: Authorize, user: UserInfo, verb: str, resource: str, namespace: str,
         name: str) -> bool:
    attrs = Attributes(user, verb, True, RBAC_GROUP, "v1", resource, "", namespace, name)
    return authorize(attrs).allowed


def only_gc_fields_changed(new: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
    """Whether an update touches nothing but ownerReferences and finalizers (upstream lets
    anyone who may update the object do that, so garbage collection is never blocked)."""
    if old is None:
        return False

    def without_gc(obj: Mapping[str, Any]) -> dict[str, Any]:
        meta = {k: v for k, v in (obj.get("metadata") or {}).items()
                if k not in ("ownerReferences", "finalizers", "resourceVersion",
                             "managedFields", "generation")}
        return {**obj, "metadata": meta}

    return without_gc(new) == without_gc(old)


def _confirm(rbac: RBACAuthorizer, user: UserInfo, namespace: str, wanted: tuple[Rule, ...],
             resource: str, name: str) -> None:
    held, errors = rbac.rules_for(user, namespace)
    missing = uncovered(held, wanted)
    if not missing:
        return
    groups = "[" + " ".join(f'"{g}"' for g in user.groups) + "]"
    text = (f'user "{user.name}" (groups={groups}) is attempting to grant RBAC permissions '
            "not currently held:\n" + "\n".join(r.describe() for r in missing))
    if errors:
        text += "; resolution errors: [" + ", ".join(errors) + "]"
    raise EscalationForbidden(resource, name, text)


def check_role_write(rbac: RBACAuthorizer, authorize: Authorize, user: UserInfo,
                     role: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> None:
    """Raise EscalationForbidden unless `user` may create/update this Role or ClusterRole
    (`old` is the stored object on update)."""
    if MASTERS in user.groups or only_gc_fields_changed(role, old):
        return
    meta = role.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    cluster = role.get("kind") == CLUSTER_ROLE
    resource = "clusterroles" if cluster else "roles"
    if _may(authorize, user, "escalate", resource, "" if cluster else namespace, name):
        return
    wanted = rules_from_api(role.get("rules"))
    if cluster and role.get("aggregationRule"):
        wanted = FULL_AUTHORITY
    _confirm(rbac, user, "" if cluster else namespace, wanted, resource, name)


def check_binding_write(rbac: RBACAuthorizer, authorize: Authorize, user: UserInfo,
                        binding: Mapping[str, Any],
                        old: Mapping[str, Any] | None = None) -> None:
    """Raise EscalationForbidden unless `user` may create/update this (Cluster)RoleBinding."""
    if MASTERS in user.groups or only_gc_fields_changed(binding, old):
        return
    meta = binding.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    cluster_binding = binding.get("kind") == "ClusterRoleBinding"
    resource = "clusterrolebindings" if cluster_binding else "rolebindings"
    ref = binding.get("roleRef") or {}
    role_kind, role_name = str(ref.get("kind", "")), str(ref.get("name", ""))
    role_resource = "clusterroles" if role_kind == CLUSTER_ROLE else "roles"
    if _may(authorize, user, "bind", role_resource, namespace, role_name):
        return
    rules = rbac.role_rules(role_kind if role_kind in (ROLE, CLUSTER_ROLE) else "", namespace,
                            role_name)
    if rules is None:
        raise EscalationForbidden(resource, name, f'{role_resource}.{RBAC_GROUP} "{role_name}" '
                                  "not found, so its permissions cannot be checked")
    _confirm(rbac, user, "" if cluster_binding else namespace, rules, resource, name)
