"""ResourceQuota arithmetic shared by the admission plugin and the resourcequota controller.

What an object charges (upstream's evaluators): a pod `pods`, `count/pods` and its compute
requests/limits (`cpu`/`requests.cpu`, `limits.cpu`, memory and ephemeral-storage alike) unless
it has finished (Succeeded/Failed still count in `count/pods` only); a service `services` plus
`services.nodeports`/`services.loadbalancers`; a claim `persistentvolumeclaims` and
`requests.storage` (also per storage class); anything else `count/<resource>[.<group>]`, with
the legacy names (`secrets`, `configmaps`, …) for core kinds. Quotas are checked against
`status.hard`/`status.used` — the controller fills them — and refusals use upstream's words
(`exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from kubeadmpy.machinery.objects import parse_rfc3339
from kubeadmpy.scheduler.quantities import (
    DECIMAL_SI,
    format_quantity,
    quantity_format,
)
from kubeadmpy.security.limit_ranger import pod_totals, quantity_text, quantity_value

Usage = dict[str, Decimal]

# core kinds whose object count also has a plain name (upstream's legacy aliases)
LEGACY_COUNTS = ("configmaps", "persistentvolumeclaims", "replicationcontrollers",
                 "resourcequotas", "secrets", "services")
COMPUTE = ("cpu", "memory", "ephemeral-storage")
QOS_RESOURCES = ("cpu", "memory")
POD_RESOURCES = frozenset({"pods", "count/pods"} | set(COMPUTE)
                          | {f"{p}.{r}" for p in ("requests", "limits") for r in COMPUTE})
# a quota on these makes every container state them ("a mistake", says upstream, kept)
REQUIRED_ON_PODS = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu",
                    "limits.memory")
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
TERMINAL_PHASES = ("Succeeded", "Failed")


def count_name(resource: str, group: str) -> str:
    return f"count/{resource}.{group}" if group else f"count/{resource}"


# --- what one object charges ------------------------------------------------------------------


def stuck_terminating(pod: Mapping[str, Any], now: float | None) -> bool:
    """Deleted and past its grace period (its node is likely gone): upstream stops charging
    it, so a lost node does not keep a namespace from replacing its pods."""
    meta = pod.get("metadata") or {}
    deleted, grace = meta.get("deletionTimestamp"), meta.get("deletionGracePeriodSeconds")
    if now is None or not isinstance(deleted, str) or not isinstance(grace, int):
        return False
    return now > parse_rfc3339(deleted) + grace


def pod_usage(pod: Mapping[str, Any], now: float | None = None) -> Usage:
    """What a pod charges; `now` (epoch seconds) lets pods stuck terminating stop counting."""
    usage: Usage = {"count/pods": Decimal(1)}
    if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES or \
            stuck_terminating(pod, now):
        return usage
    spec = pod.get("spec") or {}
    usage["pods"] = Decimal(1)
    for bucket, prefix in ((0, "requests"), (1, "limits")):
        for name, amount in pod_totals(spec, bucket).items():
            if name in COMPUTE:
                usage[f"{prefix}.{name}"] = amount
                if prefix == "requests":
                    usage[name] = amount
    return usage


def service_usage(service: Mapping[str, Any]) -> Usage:
    spec = service.get("spec") or {}
    usage: Usage = {"count/services": Decimal(1), "services": Decimal(1)}
    kind = spec.get("type") or "ClusterIP"
    if kind in ("NodePort", "LoadBalancer"):
        usage["services.nodeports"] = Decimal(len(spec.get("ports") or []))
    if kind == "LoadBalancer":
        usage["services.loadbalancers"] = Decimal(1)
    return usage


def claim_usage(claim: Mapping[str, Any]) -> Usage:
    spec = claim.get("spec") or {}
    usage: Usage = {"count/persistentvolumeclaims": Decimal(1),
                    "persistentvolumeclaims": Decimal(1)}
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is not None:
        usage["requests.storage"] = quantity_value(storage)
    storage_class = spec.get("storageClassName")
    if storage_class:
        prefix = f"{storage_class}{STORAGE_CLASS_SUFFIX}"
        usage[f"{prefix}persistentvolumeclaims"] = Decimal(1)
        if storage is not None:
            usage[f"{prefix}requests.storage"] = quantity_value(storage)
    return usage


def usage_of(resource: str, group: str, obj: Mapping[str, Any],
             now: float | None = None) -> Usage:
    if group == "" and resource == "pods":
        return pod_usage(obj, now)
    if group == "" and resource == "services":
        return service_usage(obj)
    if group == "" and resource == "persistentvolumeclaims":
        return claim_usage(obj)
    usage: Usage = {count_name(resource, group): Decimal(1)}
    if group == "" and resource in LEGACY_COUNTS:
        usage[resource] = Decimal(1)
    return usage


def tracked(resource: str, group: str, names: Iterable[str]) -> list[str]:
    """The quota's resource names an object of this kind can charge."""
    def charged(name: str) -> bool:
        if group == "" and resource == "pods":
            return name in POD_RESOURCES
        if group == "" and resource == "services":
            return name in ("services", "count/services", "services.nodeports",
                            "services.loadbalancers")
        if group == "" and resource == "persistentvolumeclaims":
            return name in ("persistentvolumeclaims", "count/persistentvolumeclaims",
                            "requests.storage") or STORAGE_CLASS_SUFFIX in name
        return name == count_name(resource, group) or (
            group == "" and name == resource and resource in LEGACY_COUNTS)
    return sorted(name for name in names if charged(name))


# --- scopes (pods only, as upstream's object-count evaluators match no scope) -----------------


def _best_effort(pod: Mapping[str, Any]) -> bool:
    """The BestEffort QoS class: no container requests or limits a positive amount of cpu or
    memory (other resources, such as ephemeral-storage, do not make a QoS class)."""
    spec = pod.get("spec") or {}
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        resources = (container.get("resources") or {}) if isinstance(container, Mapping) \
            else {}
        for bucket in ("requests", "limits"):
            amounts = resources.get(bucket)
            if isinstance(amounts, Mapping) and any(
                    quantity_value(amounts.get(name)) > 0 for name in QOS_RESOURCES):
                return False
    return True


def _cross_namespace_affinity(pod: Mapping[str, Any]) -> bool:
    affinity = (pod.get("spec") or {}).get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        rules = affinity.get(kind) or {}
        terms = list(rules.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
        terms += [w.get("podAffinityTerm") or {} for w in
                  rules.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
        if any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in terms):
            return True
    return False


def _scope_matches(selector: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """One scope (a `scopes` entry is an Exists selector) against a pod, as upstream: the
    PriorityClass scope compares the pod's class name like a label In/NotIn/DoesNotExist."""
    scope, operator = selector.get("scopeName"), selector.get("operator") or "Exists"
    if scope == "PriorityClass":
        name = str((pod.get("spec") or {}).get("priorityClassName") or "")
        values = [str(v) for v in selector.get("values") or []]
        return {"Exists": bool(name), "DoesNotExist": not name, "In": name in values and
                bool(name), "NotIn": not name or name not in values}.get(str(operator), False)
    deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds")
    terminating = isinstance(deadline, int) and deadline >= 0
    return {"Terminating": terminating, "NotTerminating": not terminating,
            "BestEffort": _best_effort(pod), "NotBestEffort": not _best_effort(pod),
            "CrossNamespacePodAffinity": _cross_namespace_affinity(pod)}.get(str(scope), False)


def matches(quota: Mapping[str, Any], resource: str, group: str,
            obj: Mapping[str, Any]) -> bool:
    """Whether the quota's scopes (all of them) select the object; only pods have scopes."""
    spec = quota.get("spec") or {}
    selectors: list[Mapping[str, Any]] = [{"scopeName": s, "operator": "Exists"}
                                          for s in spec.get("scopes") or []]
    selectors += [e for e in (spec.get("scopeSelector") or {}).get("matchExpressions") or []
                  if isinstance(e, Mapping)]
    if not selectors:
        return True
    if (group, resource) != ("", "pods"):
        return False
    return all(_scope_matches(selector, obj) for selector in selectors)


# --- checks -----------------------------------------------------------------------------------


def pretty(usage: Mapping[str, Any]) -> str:
    return ",".join(f"{name}={quantity_text(usage[name])}" for name in sorted(usage))


def missing_requirements(pod: Mapping[str, Any], required: Iterable[str]) -> str | None:
    """Upstream's "must specify limits.cpu for: a,b; requests.memory for: a" or None."""
    needed = sorted(set(required) & set(REQUIRED_ON_PODS))
    if not needed:
        return None
    spec = pod.get("spec") or {}
    missing: dict[str, set[str]] = {}
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if not isinstance(container, Mapping):
            continue
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        present = {n for n in ("cpu", "memory") if n in requests} | \
            {f"requests.{n}" for n in ("cpu", "memory") if n in requests} | \
            {f"limits.{n}" for n in ("cpu", "memory") if n in limits}
        for name in needed:
            if name not in present:
                missing.setdefault(name, set()).add(str(container.get("name", "")))
    if not missing:
        return None
    return "must specify " + "; ".join(f"{name} for: {','.join(sorted(missing[name]))}"
                                       for name in sorted(missing))


def charge(quota: Mapping[str, Any], resource: str, group: str, obj: Mapping[str, Any],
           delta: Usage) -> dict[str, str] | None:
    """The quota's new status.used with `delta` added, or None when it tracks nothing of it.

    Raises QuotaRefused with upstream's message when a limit would be passed, the status is
    not computed yet, or a pod lacks requests/limits the quota needs.
    """
    name = str((quota.get("metadata") or {}).get("name", ""))
    status = quota.get("status") or {}
    hard: Mapping[str, Any] = status.get("hard") or {}
    used: Mapping[str, Any] = status.get("used") or {}
    names = tracked(resource, group, hard)
    if not names or not matches(quota, resource, group, obj):
        return None
    if (group, resource) == ("", "pods"):
        problem = missing_requirements(obj, names)
        if problem:
            raise QuotaRefused(f"failed quota: {name}: {problem}")
    unknown = [n for n in names if n not in used]
    if unknown:
        raise QuotaRefused(f"status unknown for quota: {name}, resources: {','.join(unknown)}")
    requested = {n: delta[n] for n in names if delta.get(n, Decimal(0)) != 0}
    if not requested:
        return None
    exceeded = sorted(n for n, amount in requested.items()
                      if quantity_value(used.get(n)) + amount > quantity_value(hard.get(n)))
    if exceeded:
        raise QuotaRefused(
            f"exceeded quota: {name}, requested: "
            f"{pretty({n: add(None, requested[n], hard[n]) for n in exceeded})}"
            f", used: {pretty({n: used.get(n, '0') for n in exceeded})}"
            f", limited: {pretty({n: hard[n] for n in exceeded})}")
    new_used = dict(used)
    for n, amount in requested.items():
        new_used[n] = add(used.get(n), amount, hard.get(n))
    return new_used


def add(current: Any, amount: Decimal, hard: Any) -> str:
    """current + amount, printed in the format of what was there (or of the hard limit)."""
    shape = current if isinstance(current, str) and quantity_value(current) != 0 else hard
    fmt = quantity_format(shape) if isinstance(shape, str) else DECIMAL_SI
    return format_quantity(quantity_value(current) + amount, fmt)


class QuotaRefused(Exception):
    """A create the namespace's quota does not allow; the message is upstream's."""
