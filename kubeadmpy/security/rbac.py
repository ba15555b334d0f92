"""The RBAC authorizer: Roles, ClusterRoles and their bindings, indexed by subject.

The store holds the four kinds as the API stores them (plain dicts) and is fed by the server
(`apply`/`delete`, e.g. from watch events). Bindings are indexed by subject (User, Group,
ServiceAccount), so a decision looks only at the bindings that name the requesting user or one
of their groups rather than at every binding. Semantics and messages follow upstream: cluster
role bindings are visited before role bindings of the request's namespace, the first rule that
allows wins, the reason names the binding, role and subject; a binding to a missing role is an
evaluation error reported in the reason, never an exception.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kubeadmpy.security import aggregation
from kubeadmpy.security.identity import (
    Attributes,
    Decision,
    UserInfo,
    Verdict,
    split_service_account_username,
)
from kubeadmpy.security.rbac_rules import Rule, rules_from_api

DECISION_CACHE_SIZE = 20_000  # decisions kept until the next RBAC change (or until full)
ROLE, CLUSTER_ROLE = "Role", "ClusterRole"
ROLE_BINDING, CLUSTER_ROLE_BINDING = "RoleBinding", "ClusterRoleBinding"
SubjectKey = tuple[str, str]  # ("User"|"Group", name) or ("ServiceAccount", "ns/name")


@dataclass(frozen=True)
class Binding:
    """One subject of one binding: what a matching request is allowed through."""

    kind: str  # RoleBinding or ClusterRoleBinding
    name: str
    namespace: str
    role_kind: str
    role_name: str
    subject: Mapping[str, str]

    def describe(self) -> str:
        subject_kind = self.subject.get("kind", "")
        subject_name = self.subject.get("name", "")
        if subject_kind == "ServiceAccount":
            subject_name += "/" + (self.subject.get("namespace") or self.namespace)
        who = f'{subject_kind} "{subject_name}"'
        name = f"{self.name}/{self.namespace}" if self.kind == ROLE_BINDING else self.name
        return f'{self.kind} "{name}" of {self.role_kind} "{self.role_name}" to {who}'


def _meta(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return "", ""
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def subject_key(subject: Mapping[str, Any], binding_namespace: str) -> SubjectKey | None:
    kind, name = str(subject.get("kind", "")), str(subject.get("name", ""))
    if kind in ("User", "Group"):
        return kind, name
    if kind == "ServiceAccount":
        namespace = str(subject.get("namespace") or binding_namespace)
        return (kind, f"{namespace}/{name}") if namespace else None
    return None


def user_keys(user: UserInfo) -> list[SubjectKey]:
    keys: list[SubjectKey] = [("User", user.name)]
    keys.extend(("Group", g) for g in user.groups)
    sa = split_service_account_username(user.name)
    if sa is not None:
        keys.append(("ServiceAccount", f"{sa[0]}/{sa[1]}"))
    return keys


class RBACAuthorizer:
    """Holds RBAC objects and answers authorization requests and rule listings."""

    def __init__(self) -> None:
        self._roles: dict[tuple[str, str], tuple[Rule, ...]] = {}
        self._cluster_role_objects: dict[str, Mapping[str, Any]] = {}
        self._cluster_roles: dict[str, tuple[Rule, ...]] = {}
        self._bindings: dict[tuple[str, str, str], list[tuple[SubjectKey, Binding]]] = {}
        self._index: dict[tuple[str, SubjectKey], list[Binding]] = defaultdict(list)
        # clients repeat the same requests (watch re-lists, controllers' GETs); any change to
        # the store clears it, so a cached decision is never older than the objects it used
        self._decisions: dict[Attributes, Verdict] = {}

    # ---- feeding the store -------------------------------------------------------------
    def load(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Add many objects at once (aggregation is computed once at the end)."""
        self._decisions.clear()
        for obj in objects:
            self._put(obj)
        self._reaggregate()

    def replace_kind(self, kind: str, objects: Iterable[Mapping[str, Any]]) -> None:
        """Make the store hold exactly `objects` of `kind` (a watch cache's relist): objects of
        that kind that are no longer listed are dropped, the others are added or replaced."""
        self._decisions.clear()
        if kind == ROLE:
            self._roles.clear()
        elif kind == CLUSTER_ROLE:
            self._cluster_role_objects.clear()
            self._cluster_roles.clear()
        elif kind in (ROLE_BINDING, CLUSTER_ROLE_BINDING):
            for key in [k for k in self._bindings if k[0] == kind]:
                self._unindex(*key)
        self.load({**obj, "kind": kind} for obj in objects)

    def apply(self, obj: Mapping[str, Any]) -> None:
        """Add or replace one Role, ClusterRole, RoleBinding or ClusterRoleBinding."""
        self._decisions.clear()
        previous = None
        if obj.get("kind") == CLUSTER_ROLE:
            previous = self._cluster_role_objects.get(_meta(obj)[1])
        self._put(obj)
        if obj.get("kind") == CLUSTER_ROLE and self._affects_aggregation(obj, previous):
            self._reaggregate()

    def delete(self, kind: str, namespace: str, name: str) -> None:
        self._decisions.clear()
        if kind == ROLE:
            self._roles.pop((namespace, name), None)
        elif kind == CLUSTER_ROLE:
            previous = self._cluster_role_objects.pop(name, None)
            self._cluster_roles.pop(name, None)
            if previous is not None and self._affects_aggregation(previous, None):
                self._reaggregate()
        elif kind in (ROLE_BINDING, CLUSTER_ROLE_BINDING):
            self._unindex(kind, namespace, name)

    def _put(self, obj: Mapping[str, Any]) -> None:
        kind = obj.get("kind")
        namespace, name = _meta(obj)
        if kind == ROLE:
            self._roles[(namespace, name)] = rules_from_api(obj.get("rules"))
        elif kind == CLUSTER_ROLE:
            self._cluster_role_objects[name] = obj
            self._cluster_roles[name] = rules_from_api(obj.get("rules"))
        elif kind in (ROLE_BINDING, CLUSTER_ROLE_BINDING):
            self._unindex(kind, namespace, name)
            ref = obj.get("roleRef")
            ref = ref if isinstance(ref, Mapping) else {}
            subjects = obj.get("subjects")
            entries = []
            for subject in subjects if isinstance(subjects, list) else []:
                if not isinstance(subject, Mapping):
                    continue
                key = subject_key(subject, namespace)
                if key is None:
                    continue
                binding = Binding(kind, name, namespace, str(ref.get("kind", "")),
                                  str(ref.get("name", "")), dict(subject))
                scope = namespace if kind == ROLE_BINDING else ""
                self._index[(scope, key)].append(binding)
                entries.append((key, binding))
            self._bindings[(kind, namespace, name)] = entries

    def _unindex(self, kind: str, namespace: str, name: str) -> None:
        scope = namespace if kind == ROLE_BINDING else ""
        for key, binding in self._bindings.pop((kind, namespace, name), []):
            bucket = self._index.get((scope, key))
            if bucket is not None:
                bucket[:] = [b for b in bucket if b is not binding]
                if not bucket:
                    del self._index[(scope, key)]

    def _affects_aggregation(self, obj: Mapping[str, Any],
                             previous: Mapping[str, Any] | None) -> bool:
        if aggregation.selectors_of(obj) is not None:
            return True
        if previous is not None and aggregation.selectors_of(previous) is not None:
            return True
        return any(o is not None and aggregation.selects(self._cluster_role_objects,
                                                         aggregation.labels_of(o))
                   for o in (obj, previous))

    def _reaggregate(self) -> None:
        for name, rules in aggregation.aggregate(self._cluster_role_objects).items():
            self._cluster_roles[name] = rules_from_api(rules)

    # ---- reading ------------------------------------------------------------------------
    def cluster_role_rules(self, name: str) -> tuple[Rule, ...] | None:
        return self._cluster_roles.get(name)

    def aggregated_cluster_role_rules(self) -> dict[str, list[dict[str, Any]]]:
        """For a controller: the rules each aggregating ClusterRole should store."""
        return aggregation.aggregate(self._cluster_role_objects)

    def role_rules(self, role_kind: str, namespace: str, name: str) -> tuple[Rule, ...] | None:
        if role_kind == CLUSTER_ROLE:
            return self._cluster_roles.get(name)
        if role_kind == ROLE:
            return self._roles.get((namespace, name))
        return None

    def _applicable(self, user: UserInfo, namespace: str) -> Iterator[Binding]:
        keys = user_keys(user)
        for key in keys:
            yield from self._index.get(("", key), ())
        if namespace:
            for key in keys:
                yield from self._index.get((namespace, key), ())

    def _missing(self, binding: Binding) -> str:
        resource = "clusterrole" if binding.role_kind == CLUSTER_ROLE else "role"
        return f'{resource}.rbac.authorization.k8s.io "{binding.role_name}" not found'

    def authorize(self, attrs: Attributes) -> Verdict:
        cached = self._decisions.get(attrs)
        if cached is None:
            if len(self._decisions) >= DECISION_CACHE_SIZE:
                self._decisions.clear()
            cached = self._decisions[attrs] = self.evaluate(attrs)
        return cached

    def clear_decision_cache(self) -> None:
        self._decisions.clear()

    def evaluate(self, attrs: Attributes) -> Verdict:
        """The decision without the cache (what `authorize` computes on a miss)."""
        errors: list[str] = []
        for binding in self._applicable(attrs.user, attrs.namespace):
            rules = self.role_rules(binding.role_kind, binding.namespace, binding.role_name)
            if rules is None:
                errors.append(self._missing(binding))
                continue
            for rule in rules:
                if rule.allows(attrs):
                    return Verdict(Decision.ALLOW, f"RBAC: allowed by {binding.describe()}")
        if errors:
            return Verdict(Decision.NO_OPINION, "RBAC: " + ", ".join(dict.fromkeys(errors)),
                           ", ".join(dict.fromkeys(errors)))
        return Verdict(Decision.NO_OPINION)

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
        """Every rule the user holds in `namespace` ("" = cluster-wide), plus lookup errors."""
        rules: list[Rule] = []
        errors: list[str] = []
        for binding in self._applicable(user, namespace):
            found = self.role_rules(binding.role_kind, binding.namespace, binding.role_name)
            if found is None:
                errors.append(self._missing(binding))
                continue
            rules.extend(r for r in found if r not in rules)
        return rules, list(dict.fromkeys(errors))
