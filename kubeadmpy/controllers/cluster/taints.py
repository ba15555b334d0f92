"""Taints and tolerations as the node controllers use them (pure functions).

The taint keys are upstream's well-known ones; matching follows the core API's rules: an empty
toleration key with operator Exists matches every taint, an empty effect matches every effect,
Equal (the default operator) compares values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NO_SCHEDULE, NO_EXECUTE = "NoSchedule", "NoExecute"
CONTROLLED_KEYS = frozenset({NOT_READY, UNREACHABLE, UNSCHEDULABLE})

Taint = Mapping[str, Any]
Toleration = Mapping[str, Any]


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    if not key:
        return operator == "Exists"
    if key != taint.get("key"):
        return False
    return operator == "Exists" or (toleration.get("value") or "") == (taint.get("value") or "")


def same_taint(a: Taint, b: Taint) -> bool:
    return a.get("key") == b.get("key") and a.get("effect") == b.get("effect")


def desired_controlled_taints(ready_status: str | None, unschedulable: bool) -> list[tuple[str, str]]:
    """(key, effect) of the taints the node controller keeps on a node in this state:
    Ready=False → not-ready, Ready=Unknown (or no Ready condition) → unreachable, each NoSchedule
    (TaintNodesByCondition) and NoExecute (taint-based eviction); spec.unschedulable →
    unschedulable NoSchedule."""
    wanted: list[tuple[str, str]] = []
    if ready_status == "False":
        wanted += [(NOT_READY, NO_SCHEDULE), (NOT_READY, NO_EXECUTE)]
    elif ready_status != "True":
        wanted += [(UNREACHABLE, NO_SCHEDULE), (UNREACHABLE, NO_EXECUTE)]
    if unschedulable:
        wanted.append((UNSCHEDULABLE, NO_SCHEDULE))
    return wanted


def reconcile_taints(current: Iterable[Taint], wanted: list[tuple[str, str]], now: str
                     ) -> list[dict[str, Any]]:
    """The node's taints with the controlled ones made to match `wanted`; other taints and the
    timeAdded of controlled taints that stay are kept (eviction timers count from it)."""
    result: list[dict[str, Any]] = []
    kept: set[tuple[str, str]] = set()
    for taint in current:
        key = (str(taint.get("key")), str(taint.get("effect")))
        if taint.get("key") in CONTROLLED_KEYS and key not in wanted:
            continue
        kept.add(key)
        result.append(dict(taint))
    for taint_key, effect in wanted:
        if (taint_key, effect) not in kept:
            added: dict[str, Any] = {"key": taint_key, "effect": effect}
            if effect == NO_EXECUTE:
                added["timeAdded"] = now
            result.append(added)
    return result


def eviction_delay(taints: Iterable[Taint], tolerations: Iterable[Toleration]
                   ) -> float | None:
    """Seconds a pod may stay on a node with these taints: 0 if some NoExecute taint is not
    tolerated, the smallest tolerationSeconds among the tolerations used (negative counts as
    0), None if it may stay forever (no NoExecute taint, or tolerated without a limit)."""
    tolerations = list(tolerations)
    limits: list[float] = []
    for taint in taints:
        if taint.get("effect") != NO_EXECUTE:
            continue
        used = [t for t in tolerations if tolerates(t, taint)]
        if not used:
            return 0.0
        limits += [max(0.0, float(t["tolerationSeconds"])) for t in used
                   if t.get("tolerationSeconds") is not None]
    return min(limits) if limits else None
