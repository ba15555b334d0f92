"""Idempotent reconciliation of the bootstrap RBAC policy, as kube-apiserver does on start.

Missing objects are created. Existing ones with autoupdate not "false" gain what they lack —
the default labels and annotations, missing rules (only rules not already covered), missing
aggregation selectors, missing subjects — and keep everything a user added. A binding whose
roleRef differs is recreated (roleRef is immutable) when a delete function is given.
Objects annotated `rbac.authorization.kubernetes.io/autoupdate: "false"` are left alone.
`plan` is pure; `reconcile_bootstrap_policy` (sync) and `reconcile_bootstrap_policy_async`
apply the plan through injected get/create/update(/delete) functions.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeadmpy.security import bootstrap_policy
from kubeadmpy.security.rbac_rules import Rule, rules_from_api, uncovered

Obj = dict[str, Any]
Getter = Callable[[str, str, str], Mapping[str, Any] | None]  # (kind, namespace, name)


@dataclass(frozen=True)
class Action:
    verb: str  # create | update | recreate | skip-protected
    obj: Obj
    detail: str = ""


@dataclass
class ReconcileReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)


def _key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {ns}{meta.get('name')}"


def _merge_meta(existing: Obj, expected: Mapping[str, Any]) -> bool:
    changed = False
    meta = existing.setdefault("metadata", {})
    for section in ("labels", "annotations"):
        want = (expected.get("metadata") or {}).get(section) or {}
        if not want:
            continue
        have = meta.get(section) or {}  # stored as null or absent: start empty
        meta[section] = have
        for k, v in want.items():
            if k not in have:
                have[k] = v
                changed = True
    return changed


def _merge_role(existing: Obj, expected: Mapping[str, Any]) -> bool:
    changed = _merge_meta(existing, expected)
    if expected.get("aggregationRule"):
        rule = existing.setdefault("aggregationRule", {})
        selectors = rule.setdefault("clusterRoleSelectors", [])
        for selector in expected["aggregationRule"].get("clusterRoleSelectors", []):
            if selector not in selectors:
                selectors.append(copy.deepcopy(selector))
                changed = True
        return changed  # rules of an aggregated role belong to the aggregation controller
    held: list[Rule] = list(rules_from_api(existing.get("rules")))
    if not isinstance(existing.get("rules"), list):
        existing["rules"] = []
    rules = existing["rules"]
    for raw in expected.get("rules") or []:
        wanted = rules_from_api([raw])
        if uncovered(held, wanted):
            rules.append(copy.deepcopy(raw))
            held.extend(wanted)
            changed = True
    return changed


def _merge_binding(existing: Obj, expected: Mapping[str, Any]) -> bool:
    changed = _merge_meta(existing, expected)
    subjects = existing.get("subjects")
    if not isinstance(subjects, list):
        subjects = existing["subjects"] = []
    for subject in expected.get("subjects") or []:
        if not any(_same_subject(s, subject) for s in subjects):
            subjects.append(dict(subject))
            changed = True
    return changed


def _same_subject(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all((a.get(k) or "") == (b.get(k) or "") for k in ("kind", "name", "namespace"))


def plan(get: Getter, expected: Iterable[Mapping[str, Any]] | None = None) -> list[Action]:
    """What to do to make the cluster hold the default policy; empty when it already does."""
    actions: list[Action] = []
    for want in expected if expected is not None else bootstrap_policy.all_objects():
        meta = want["metadata"]
        have = get(str(want["kind"]), str(meta.get("namespace") or ""), str(meta["name"]))
        if have is None:
            actions.append(Action("create", copy.deepcopy(dict(want))))
            continue
        annotations = (have.get("metadata") or {}).get("annotations") or {}
        if annotations.get(bootstrap_policy.AUTOUPDATE) == "false":
            actions.append(Action("skip-protected", dict(have)))
            continue
        merged: Obj = copy.deepcopy(dict(have))
        if want["kind"] in ("Role", "ClusterRole"):
            changed = _merge_role(merged, want)
        else:
            if (have.get("roleRef") or {}) != want["roleRef"]:
                recreated = copy.deepcopy(dict(want))
                _merge_binding(recreated, {"subjects": have.get("subjects") or []})
                actions.append(Action("recreate", recreated, "roleRef differs"))
                continue
            changed = _merge_binding(merged, want)
        if changed:
            actions.append(Action("update", merged))
    return actions


def _record(report: ReconcileReport, action: Action) -> None:
    key = _key(action.obj)
    if action.verb == "create":
        report.created.append(key)
    elif action.verb == "skip-protected":
        report.protected.append(key)
    else:
        report.updated.append(key)


def reconcile_bootstrap_policy(get: Getter, create: Callable[[Obj], Any],
                               update: Callable[[Obj], Any],
                               delete: Callable[[Obj], Any] | None = None) -> ReconcileReport:
    report = ReconcileReport()
    for action in plan(get):
        if action.verb == "create":
            create(action.obj)
        elif action.verb == "update":
            update(action.obj)
        elif action.verb == "recreate":
            if delete is None:
                report.protected.append(_key(action.obj))
                continue
            delete(action.obj)
            create(action.obj)
        _record(report, action)
    return report


async def reconcile_bootstrap_policy_async(
        get: Callable[[str, str, str], Awaitable[Mapping[str, Any] | None]],
        create: Callable[[Obj], Awaitable[Any]], update: Callable[[Obj], Awaitable[Any]],
        delete: Callable[[Obj], Awaitable[Any]] | None = None) -> ReconcileReport:
    """The same over async storage: objects are fetched first, then the plan is applied."""
    expected = bootstrap_policy.all_objects()
    current: dict[tuple[str, str, str], Mapping[str, Any] | None] = {}
    for want in expected:
        meta = want["metadata"]
        key = (str(want["kind"]), str(meta.get("namespace") or ""), str(meta["name"]))
        current[key] = await get(*key)
    report = ReconcileReport()
    for action in plan(lambda k, ns, n: current.get((k, ns, n)), expected):
        if action.verb == "create":
            await create(action.obj)
        elif action.verb == "update":
            await update(action.obj)
        elif action.verb == "recreate":
            if delete is None:
                report.protected.append(_key(action.obj))
                continue
            await delete(action.obj)
            await create(action.obj)
        _record(report, action)
    return report
