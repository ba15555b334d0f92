"""Label and field selectors: parsing the query-string grammar and matching objects.

The grammar is upstream's (pkg/labels, pkg/fields): comma means AND; labels support `=`, `==`,
`!=`, `in`, `notin`, existence and `!key`, `>`/`<`; fields support only `=`, `==`, `!=`.
Bad syntax is a 400 BadRequest naming the selector, as the real server answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from kubeadmpy.machinery.status import APIStatusError, bad_request

_LABEL_KEY = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # one of = != in notin exists !exists > <
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.operator in ("=", "in"):
            return present and value in self.values
        if self.operator in ("!=", "notin"):
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        if self.operator == "!exists":
            return not present
        if not present:
            return False
        try:
            number = int(value)
        except ValueError:
            return False
        limit = int(self.values[0])
        return number > limit if self.operator == ">" else number < limit


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _bad_label(selector: str, why: str) -> APIStatusError:
    return bad_request(f"unable to parse requirement: {why} (labelSelector={selector!r})")


def _check_key(selector: str, key: str) -> str:
    if not _LABEL_KEY.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
        raise _bad_label(selector, f"invalid label key {key!r}")
    return key


_SET_RE = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")
_CMP_RE = re.compile(r"^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$")


def parse_label_selector(selector: str) -> LabelSelector:
    """Parse `app=web,tier!=db,env in (a,b),!x` into requirements; raise 400 on bad syntax."""
    requirements = []
    for part in _split_top_level(selector or ""):
        if set_match := _SET_RE.match(part):
            key, op, values = set_match.groups()
            items = tuple(v.strip() for v in values.split(",") if v.strip() or values.strip())
            requirements.append(Requirement(_check_key(selector, key), op, items))
        elif cmp_match := _CMP_RE.match(part):
            key, op, value = cmp_match.groups()
            value = value.strip()
            if op in (">", "<"):
                try:
                    int(value)
                except ValueError as exc:
                    raise _bad_label(selector, f"for {op} the value must be an integer") from exc
            if op == "==":
                op = "="
            requirements.append(Requirement(_check_key(selector, key), op, (value,)))
        elif part.startswith("!"):
            requirements.append(Requirement(_check_key(selector, part[1:].strip()), "!exists"))
        else:
            requirements.append(Requirement(_check_key(selector, part), "exists"))
    return LabelSelector(tuple(requirements))


def selector_from_match_labels(match_labels: Mapping[str, str]) -> LabelSelector:
    return LabelSelector(tuple(Requirement(k, "=", (v,)) for k, v in sorted(match_labels.items())))


def label_selector_from_object(selector: Mapping[str, object] | None) -> LabelSelector:
    """A metav1.LabelSelector dict (matchLabels + matchExpressions) as a LabelSelector."""
    if not selector:
        return LabelSelector()
    reqs = [Requirement(k, "=", (str(v),))
            for k, v in sorted(dict(selector.get("matchLabels") or {}).items())]  # type: ignore[call-overload]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in list(selector.get("matchExpressions") or []):  # type: ignore[call-overload]
        reqs.append(Requirement(str(expr["key"]), ops.get(str(expr["operator"]), "in"),
                                tuple(str(v) for v in expr.get("values") or [])))
    return LabelSelector(tuple(reqs))


def format_label_selector(selector: Mapping[str, object] | None) -> str:
    """The string form (`app=web,x in (a)`) of a metav1.LabelSelector, as Scale.status.selector."""
    parts = []
    for req in label_selector_from_object(selector).requirements:
        if req.operator == "=":
            parts.append(f"{req.key}={req.values[0]}")
        elif req.operator in ("in", "notin"):
            parts.append(f"{req.key} {req.operator} ({','.join(req.values)})")
        elif req.operator == "exists":
            parts.append(req.key)
        else:
            parts.append(f"!{req.key}")
    return ",".join(parts)


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: str  # = or !=
    value: str


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        for req in self.requirements:
            actual = fields.get(req.field, "")
            if (actual == req.value) != (req.operator == "="):
                return False
        return True

    def exact_name(self) -> str | None:
        """The name when the selector pins `metadata.name=X` (used to skip a full scan)."""
        for req in self.requirements:
            if req.field == "metadata.name" and req.operator == "=":
                return req.value
        return None


def parse_field_selector(selector: str, supported: frozenset[str]) -> FieldSelector:
    """Parse `a=b,c!=d`; a field outside `supported` is a 400 `field label not supported`."""
    requirements = []
    for part in _split_top_level(selector or ""):
        for op in ("!=", "==", "="):
            if op in part:
                name, value = part.split(op, 1)
                name = name.strip()
                if name not in supported:
                    raise bad_request(f'field label not supported: {name}')
                requirements.append(FieldRequirement(name, "!=" if op == "!=" else "=",
                                                     value.strip()))
                break
        else:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{part}'")
    return FieldSelector(tuple(requirements))
