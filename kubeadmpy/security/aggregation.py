"""ClusterRole aggregation: an aggregationRule's label selectors gather other roles' rules.

Upstream runs this as the clusterrole-aggregation controller, which rewrites the aggregated
role's rules; admin picks up edit, which picks up view, so the result is a fixpoint. The RBAC
store uses `aggregate` to evaluate requests against the aggregated rules immediately, and a
controller can write `aggregate(...)[name]` back into the object to make it visible to clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeadmpy.machinery.selectors import LabelSelector, label_selector_from_object

MAX_ROUNDS = 16  # aggregation chains are short (admin <- edit <- view); this bounds a cycle


def selectors_of(cluster_role: Mapping[str, Any]) -> list[LabelSelector] | None:
    """The clusterRoleSelectors of an aggregating ClusterRole, None for an ordinary one."""
    rule = cluster_role.get("aggregationRule")
    if not isinstance(rule, Mapping):
        return None
    raw = rule.get("clusterRoleSelectors")
    selectors = []
    for selector in raw if isinstance(raw, list) else []:
        try:
            selectors.append(label_selector_from_object(selector))
        except (TypeError, ValueError, KeyError, AttributeError):
            continue  # a malformed selector selects nothing (validation should have refused it)
    return selectors


def rules_of(cluster_role: Mapping[str, Any]) -> list[dict[str, Any]]:
    rules = cluster_role.get("rules")
    return [dict(r) for r in rules if isinstance(r, Mapping)] if isinstance(rules, list) else []


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    meta = obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, Mapping) else None
    return labels if isinstance(labels, Mapping) else {}


def aggregate(cluster_roles: Mapping[str, Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Effective rules of every aggregating ClusterRole, by name."""
    aggregators = {name: sel for name, role in cluster_roles.items()
                   if (sel := selectors_of(role)) is not None}
    effective: dict[str, list[dict[str, Any]]] = {
        name: rules_of(cluster_roles[name]) for name in aggregators}
    for _ in range(MAX_ROUNDS):
        changed = False
        for name, selectors in aggregators.items():
            rules = _gather(name, selectors, cluster_roles, effective)
            if rules != effective[name]:
                effective[name] = rules
                changed = True
        if not changed:
            break
    return effective


def _gather(name: str, selectors: list[LabelSelector],
            cluster_roles: Mapping[str, Mapping[str, Any]],
            effective: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for selector in selectors:
        for source in sorted(cluster_roles):
            if source == name or not selector.matches(labels_of(cluster_roles[source])):
                continue
            source_rules = effective.get(source) or rules_of(cluster_roles[source])
            for rule in source_rules:
                if rule not in rules:
                    rules.append(dict(rule))
    return rules


def selects(cluster_roles: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str]) -> bool:
    """Whether any aggregating role selects an object with these labels."""
    for role in cluster_roles.values():
        selectors = selectors_of(role)
        if selectors and any(s.matches(labels) for s in selectors):
            return True
    return False
