"""PolicyRule semantics: does a rule allow a request, and does one rule set cover another.

Matching is upstream's (pkg/apis/rbac/v1 evaluation helpers): `*` wildcards for verbs, groups,
resources and non-resource URLs; `pods/log` names a subresource and `*/scale` any resource's
scale subresource; resourceNames restrict to named objects (so they never match list/create);
a non-resource URL ending in `*` matches by prefix. Coverage (for escalation checks) breaks the
wanted rules into single-verb atoms, as upstream's Covers does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubeadmpy.security.identity import Attributes

ALL = "*"


@dataclass(frozen=True)
class Rule:
    """A PolicyRule with its lists as frozensets for fast membership tests."""

    verbs: frozenset[str]
    api_groups: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    resource_names: frozenset[str] = frozenset()
    non_resource_urls: frozenset[str] = frozenset()

    @classmethod
    def from_api(cls, rule: Mapping[str, Any]) -> Rule:
        def strings(key: str) -> frozenset[str]:
            value = rule.get(key) or []
            return frozenset(str(v) for v in value) if isinstance(value, list) else frozenset()
        return cls(strings("verbs"), strings("apiGroups"), strings("resources"),
                   strings("resourceNames"), strings("nonResourceURLs"))

    def as_api(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"verbs": sorted(self.verbs)}
        for key, values in (("apiGroups", self.api_groups), ("resources", self.resources),
                            ("resourceNames", self.resource_names),
                            ("nonResourceURLs", self.non_resource_urls)):
            if values or (key == "apiGroups" and self.resources):
                out[key] = sorted(values)
        return out

    def allows(self, attrs: Attributes) -> bool:
        if ALL not in self.verbs and attrs.verb not in self.verbs:
            return False
        if not attrs.is_resource_request:
            return url_matches(self.non_resource_urls, attrs.path)
        if ALL not in self.api_groups and attrs.api_group not in self.api_groups:
            return False
        if not resource_matches(self.resources, attrs.resource, attrs.subresource):
            return False
        return not self.resource_names or attrs.name in self.resource_names

    def describe(self) -> str:
        """Upstream's compact `{APIGroups:[...], Resources:[...], Verbs:[...]}` form."""
        parts = []
        if self.api_groups or self.resources:
            parts.append(f"APIGroups:{_quoted(self.api_groups)}")
            parts.append(f"Resources:{_quoted(self.resources)}")
        if self.resource_names:
            parts.append(f"ResourceNames:{_quoted(self.resource_names)}")
        if self.non_resource_urls:
            parts.append(f"NonResourceURLs:{_quoted(self.non_resource_urls)}")
        parts.append(f"Verbs:{_quoted(self.verbs)}")
        return "{" + ", ".join(parts) + "}"


def _quoted(values: Iterable[str]) -> str:
    return "[" + " ".join(f'"{v}"' for v in sorted(values)) + "]"


def resource_matches(rule_resources: frozenset[str], resource: str, subresource: str) -> bool:
    if ALL in rule_resources:
        return True
    combined = f"{resource}/{subresource}" if subresource else resource
    if combined in rule_resources:
        return True
    return bool(subresource) and f"*/{subresource}" in rule_resources


def url_matches(rule_urls: frozenset[str], path: str) -> bool:
    if ALL in rule_urls or path in rule_urls:
        return True
    return any(u.endswith("*") and path.startswith(u[:-1]) for u in rule_urls)


def rules_from_api(rules: Any) -> tuple[Rule, ...]:
    if not isinstance(rules, list):
        return ()
    return tuple(Rule.from_api(r) for r in rules if isinstance(r, Mapping))


def breakdown(rule: Rule) -> list[Rule]:
    """One rule per (group, resource, name, verb) or (url, verb): the atoms Covers checks."""
    atoms: list[Rule] = []
    for verb in sorted(rule.verbs):
        for group in sorted(rule.api_groups):
            for resource in sorted(rule.resources):
                names: list[frozenset[str]] = [frozenset({n}) for n in
                                               sorted(rule.resource_names)] or [frozenset()]
                for name in names:
                    atoms.append(Rule(frozenset({verb}), frozenset({group}),
                                      frozenset({resource}), name))
        for url in sorted(rule.non_resource_urls):
            atoms.append(Rule(frozenset({verb}), non_resource_urls=frozenset({url})))
    return atoms


def _has_all(held: frozenset[str], wanted: frozenset[str]) -> bool:
    return ALL in held or wanted <= held


def _resources_cover(held: frozenset[str], wanted: frozenset[str]) -> bool:
    if ALL in held:
        return True
    for resource in wanted:
        if resource in held:
            continue
        _, slash, sub = resource.partition("/")
        if slash and f"*/{sub}" in held:
            continue
        return False
    return True


def _urls_cover(held: frozenset[str], wanted: frozenset[str]) -> bool:
    for url in wanted:
        if url in held or ALL in held:
            continue
        if any(h.endswith("*") and url.startswith(h[:-1]) for h in held):
            continue
        return False
    return True


def rule_covers(owner: Rule, wanted: Rule) -> bool:
    if not _has_all(owner.verbs, wanted.verbs):
        return False
    if wanted.non_resource_urls and not _urls_cover(owner.non_resource_urls,
                                                     wanted.non_resource_urls):
        return False
    if wanted.api_groups and not _has_all(owner.api_groups, wanted.api_groups):
        return False
    if wanted.resources and not _resources_cover(owner.resources, wanted.resources):
        return False
    if not owner.resource_names:
        return True
    return bool(wanted.resource_names) and wanted.resource_names <= owner.resource_names


def uncovered(owned: Sequence[Rule], wanted: Iterable[Rule]) -> list[Rule]:
    """The atoms of `wanted` that no rule in `owned` covers (empty: fully covered)."""
    missing: list[Rule] = []
    for rule in wanted:
        for atom in breakdown(rule):
            if not any(rule_covers(owner, atom) for owner in owned):
                missing.append(atom)
    return missing
