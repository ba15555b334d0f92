"""Compiled selectors the filters evaluate thousands of times per pod.

A pod's label selectors (pod affinity, topology spread) and node selector terms (node affinity,
PersistentVolume node affinity) arrive as nested dicts. We compile them once per pod into
`machinery.selectors.LabelSelector` values, so a filter call is a few dict look-ups. The
semantics are upstream's: `matchLabels` and `matchExpressions` are ANDed; node selector terms
are ORed, an empty term list matches nothing, and a term with no requirements matches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeadmpy.machinery.selectors import LabelSelector, Requirement

_LABEL_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
_NODE_OPERATORS = {**_LABEL_OPERATORS, "Gt": ">", "Lt": "<"}

MATCH_NOTHING = LabelSelector((Requirement("", "in", ()),))  # no label has the empty key


def _requirement(expression: Mapping[str, Any], operators: Mapping[str, str]) -> Requirement:
    operator = operators.get(str(expression.get("operator", "")))
    values = tuple(str(v) for v in expression.get("values") or ())
    if operator is None:
        return Requirement("", "in", ())  # an operator the API should have refused: matches nothing
    if operator in (">", "<"):
        try:
            int(values[0])
        except (IndexError, ValueError):
            return Requirement("", "in", ())
    return Requirement(str(expression.get("key", "")), operator, values)


def label_selector(selector: Mapping[str, Any] | None) -> LabelSelector:
    """metav1.LabelSelector: None matches nothing, {} matches everything (upstream's rule)."""
    if selector is None:
        return MATCH_NOTHING
    requirements = [Requirement(str(k), "in", (str(v),))
                    for k, v in sorted((selector.get("matchLabels") or {}).items())]
    requirements += [_requirement(e, _LABEL_OPERATORS)
                     for e in selector.get("matchExpressions") or ()]
    return LabelSelector(tuple(requirements))


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    """One term: labels (matchExpressions) AND metadata.name (matchFields)."""

    labels: LabelSelector
    fields: LabelSelector
    empty: bool

    def matches(self, node_labels: Mapping[str, str], node_name: str) -> bool:
        if self.empty:
            return False
        if not self.labels.matches(node_labels):
            return False
        return self.fields.empty or self.fields.matches({"metadata.name": node_name})


def node_selector_term(term: Mapping[str, Any]) -> NodeSelectorTerm:
    expressions = term.get("matchExpressions") or ()
    fields = [f for f in term.get("matchFields") or () if f.get("key") == "metadata.name"]
    unknown_field = len(fields) != len(term.get("matchFields") or ())
    return NodeSelectorTerm(
        labels=LabelSelector(tuple(_requirement(e, _NODE_OPERATORS) for e in expressions)),
        fields=MATCH_NOTHING if unknown_field else LabelSelector(
            tuple(_requirement(f, _LABEL_OPERATORS) for f in fields)),
        empty=not expressions and not term.get("matchFields"),
    )


@dataclass(frozen=True, slots=True)
class NodeSelector:
    """v1.NodeSelector: the node must match at least one term."""

    terms: tuple[NodeSelectorTerm, ...]

    def matches(self, node_labels: Mapping[str, str], node_name: str) -> bool:
        return any(term.matches(node_labels, node_name) for term in self.terms)


def node_selector(selector: Mapping[str, Any]) -> NodeSelector:
    return NodeSelector(tuple(node_selector_term(t) for t in selector.get("nodeSelectorTerms") or ()))
