"""LimitRanger admission: a namespace's LimitRanges fill in and bound container resources.

New pods get the `default` limits and `defaultRequest` requests of every `Container` item for
resources their containers (and init containers) leave unset, recorded in the
`kubernetes.io/limit-ranger` annotation as upstream writes it. Then `min`, `max` and
`maxLimitRequestRatio` are enforced per container and, for `Pod` items, on the pod's totals
(containers summed, an init container counting when it needs more); `PersistentVolumeClaim`
items bound a claim's storage request on create and update. Violations are refused with
upstream's messages (`pods "x" is forbidden: maximum cpu usage per Container is 1, but limit
is 2`). Pod updates are not checked, as upstream: container resources cannot change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kubeadmpy.scheduler.quantities import (
    QuantityError,
    canonical,
    format_quantity,
    parse_quantity,
)
from kubeadmpy.security.node_restriction import AdmissionDenied, AdmissionRequest

ANNOTATION = "kubernetes.io/limit-ranger"
CONTAINER, POD, CLAIM = "Container", "Pod", "PersistentVolumeClaim"

LimitRangeLister = Callable[[str], Iterable[Mapping[str, Any]]]
ResourceList = Mapping[str, Any]


def forbidden(request: AdmissionRequest, message: str) -> AdmissionDenied:
    """Upstream's admission Forbidden text: `<resource> "<name>" is forbidden: <message>`."""
    resource = f"{request.resource}.{request.api_group}" if request.api_group \
        else request.resource
    named = f' "{request.name}"' if request.name else ""
    return AdmissionDenied(f"{resource}{named} is forbidden: {message}")


def _items(limit_range: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    limits = (limit_range.get("spec") or {}).get("limits") or []
    return [item for item in limits if isinstance(item, Mapping)]


def _resource_list(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def quantity_value(text: Any) -> Decimal:
    """A quantity the API accepted; anything unreadable compares as zero (validation names it)."""
    if isinstance(text, Decimal):
        return text
    if not isinstance(text, str | int | float):
        return Decimal(0)
    try:
        return parse_quantity(text)
    except QuantityError:
        return Decimal(0)


def quantity_text(text: Any) -> str:
    if isinstance(text, Decimal):  # a pod total
        return format_quantity(text)
    if not isinstance(text, str | int | float):
        return str(text)
    try:
        return canonical(text)
    except QuantityError:
        return str(text)


# --- defaults ---------------------------------------------------------------------------------


def container_defaults(limit_range: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(requests, limits) a Container item supplies to containers that lack them."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    for item in _items(limit_range):
        if item.get("type") == CONTAINER:
            requests.update(_resource_list(item.get("defaultRequest")))
            limits.update(_resource_list(item.get("default")))
    return requests, limits


def _default_container(container: dict[str, Any], requests: ResourceList,
                       limits: ResourceList, kind: str) -> list[str]:
    """Fill missing entries in place; returns the annotation phrases for this container."""
    resources = _resource_list(container.get("resources"))
    notes: list[str] = []
    # upstream fills limits first but lists requests first in the annotation
    for bucket, defaults, word in (("requests", requests, "request"),
                                   ("limits", limits, "limit")):
        current = _resource_list(resources.get(bucket))
        added = sorted(name for name in defaults if name not in current)
        if not added:
            continue
        current.update({name: defaults[name] for name in added})
        resources[bucket] = current
        notes.append(f"{', '.join(added)} {word} for {kind} {container.get('name', '')}")
    if notes:
        container["resources"] = resources
    return notes


def apply_defaults(pod: dict[str, Any], limit_range: Mapping[str, Any]) -> bool:
    """Give the pod's containers the LimitRange's defaults; True when anything was set."""
    requests, limits = container_defaults(limit_range)
    if not requests and not limits:
        return False
    spec = pod["spec"]
    notes: list[str] = []
    for key, kind in (("containers", "container"), ("initContainers", "init container")):
        containers = spec.get(key)
        if not isinstance(containers, list):
            continue
        copied = [dict(c) if isinstance(c, Mapping) else c for c in containers]
        spec[key] = copied
        for container in copied:
            if isinstance(container, dict):
                notes += _default_container(container, requests, limits, kind)
    if not notes:
        return False
    meta = pod.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}),
                           ANNOTATION: "LimitRanger plugin set: " + "; ".join(notes)}
    return True


# --- constraints ------------------------------------------------------------------------------


def _bound(word: str, kind: str, name: str, enforced: Any,
           required: tuple[str, ResourceList], optional: tuple[str, ResourceList]) -> str | None:
    """One of upstream's min/max checks: `required` must name the resource, and neither it nor
    `optional` may cross the bound (below it for a minimum, above it for a maximum)."""
    head = f"{word} {name} usage per {kind} is {quantity_text(enforced)}"
    if name not in required[1]:
        return f"{head}.  No {required[0]} is specified"
    bound = quantity_value(enforced)
    for label, values in (required, optional):
        if name not in values:
            continue
        amount = quantity_value(values[name])
        if (amount < bound) if word == "minimum" else (amount > bound):
            return f"{head}, but {label} is {quantity_text(values[name])}"
    return None


def min_constraint(kind: str, name: str, enforced: Any, requests: ResourceList,
                   limits: ResourceList) -> str | None:
    return _bound("minimum", kind, name, enforced, ("request", requests), ("limit", limits))


def max_constraint(kind: str, name: str, enforced: Any, requests: ResourceList,
                   limits: ResourceList) -> str | None:
    return _bound("maximum", kind, name, enforced, ("limit", limits), ("request", requests))


def max_request_constraint(kind: str, name: str, enforced: Any,
                           requests: ResourceList) -> str | None:
    """Claims have no limits: their max bounds the request."""
    return _bound("maximum", kind, name, enforced, ("request", requests), ("limit", {}))


def ratio_constraint(kind: str, name: str, enforced: Any, requests: ResourceList,
                     limits: ResourceList) -> str | None:
    head = f"{name} max limit to request ratio per {kind} is {quantity_text(enforced)}, but"
    request = quantity_value(requests.get(name, 0))
    limit = quantity_value(limits.get(name, 0))
    if request == 0:
        return f"{head} no request is specified or request is 0"
    if limit == 0:
        return f"{head} no limit is specified or limit is 0"
    ratio = limit / request
    if ratio > quantity_value(enforced):
        return f"{head} provided ratio is {float(ratio):f}"
    return None


def _check(item: Mapping[str, Any], kind: str, requests: ResourceList,
           limits: ResourceList) -> list[str]:
    errors: list[str | None] = []
    errors += [min_constraint(kind, k, v, requests, limits)
               for k, v in _resource_list(item.get("min")).items()]
    errors += [max_constraint(kind, k, v, requests, limits)
               for k, v in _resource_list(item.get("max")).items()]
    errors += [ratio_constraint(kind, k, v, requests, limits)
               for k, v in _resource_list(item.get("maxLimitRequestRatio")).items()]
    return [e for e in errors if e]


def _container_resources(container: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    resources = _resource_list(container.get("resources")) if isinstance(container, Mapping) \
        else {}
    return _resource_list(resources.get("requests")), _resource_list(resources.get("limits"))


def pod_totals(spec: Mapping[str, Any], bucket: int) -> dict[str, Decimal]:
    """The pod's effective requests (bucket 0) or limits (1): containers summed, restartable
    (sidecar) init containers added, and any other init container counting if it needs more."""
    totals: dict[str, Decimal] = {}
    for container in spec.get("containers") or []:
        for name, text in _container_resources(container)[bucket].items():
            totals[name] = totals.get(name, Decimal(0)) + quantity_value(text)
    sidecars: dict[str, Decimal] = {}
    init_peak: dict[str, Decimal] = {}
    for container in spec.get("initContainers") or []:
        own = {k: quantity_value(v)
               for k, v in _container_resources(container)[bucket].items()}
        if isinstance(container, Mapping) and container.get("restartPolicy") == "Always":
            for name, value in own.items():
                totals[name] = totals.get(name, Decimal(0)) + value
                sidecars[name] = sidecars.get(name, Decimal(0)) + value
            own = dict(sidecars)
        else:
            own = {k: v + sidecars.get(k, Decimal(0)) for k, v in own.items()} | \
                {k: v for k, v in sidecars.items() if k not in own}
        for name, value in own.items():
            init_peak[name] = max(init_peak.get(name, value), value)
    for name, value in init_peak.items():
        totals[name] = max(totals.get(name, value), value)
    return totals


def validate_pod(limit_range: Mapping[str, Any], pod: Mapping[str, Any]) -> list[str]:
    """Every violation of the LimitRange by the pod, in upstream's order and words."""
    spec = pod.get("spec") or {}
    errors: list[str] = []
    for item in _items(limit_range):
        if item.get("type") == CONTAINER:
            for key in ("containers", "initContainers"):
                for container in spec.get(key) or []:
                    requests, limits = _container_resources(container)
                    errors += _check(item, CONTAINER, requests, limits)
        elif item.get("type") == POD:
            errors += _check(item, POD, pod_totals(spec, 0), pod_totals(spec, 1))
    return errors


def validate_claim(limit_range: Mapping[str, Any], claim: Mapping[str, Any]) -> list[str]:
    requests = _resource_list(((claim.get("spec") or {}).get("resources") or {})
                              .get("requests"))
    errors: list[str | None] = []
    for item in _items(limit_range):
        if item.get("type") != CLAIM:
            continue
        errors += [min_constraint(CLAIM, k, v, requests, {})
                   for k, v in _resource_list(item.get("min")).items()]
        errors += [max_request_constraint(CLAIM, k, v, requests)
                   for k, v in _resource_list(item.get("max")).items()]
    return [e for e in errors if e]


def aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate's text: one message alone, several in brackets."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


@dataclass
class LimitRanger:
    list_limit_ranges: LimitRangeLister

    def admit(self, request: AdmissionRequest) -> dict[str, Any] | None:
        if request.subresource or request.api_group or request.obj is None:
            return None
        old_meta = (request.old_obj or {}).get("metadata") or {}
        if old_meta.get("deletionTimestamp"):
            return None  # objects on their way out are not held to new limits
        if request.resource == "pods" and request.operation == "CREATE":
            return self._admit_pod(request)
        if request.resource == "persistentvolumeclaims" and \
                request.operation in ("CREATE", "UPDATE"):
            ranges = list(self.list_limit_ranges(request.namespace))
            errors = [e for lr in ranges for e in validate_claim(lr, request.obj)]
            if errors:
                raise forbidden(request, aggregate(errors))
        return None

    def _admit_pod(self, request: AdmissionRequest) -> dict[str, Any] | None:
        ranges = list(self.list_limit_ranges(request.namespace))
        if not ranges or not isinstance(request.obj, Mapping) or \
                not isinstance(request.obj.get("spec"), Mapping):
            return None
        assert request.obj is not None
        # copy the levels defaulting writes to, never the caller's object
        pod: dict[str, Any] = {**request.obj, "spec": dict(request.obj["spec"]),
                               "metadata": dict(request.obj.get("metadata") or {})}
        changed = False
        for limit_range in ranges:
            changed = apply_defaults(pod, limit_range) or changed
        for limit_range in ranges:
            errors = validate_pod(limit_range, pod)
            if errors:
                raise forbidden(request, aggregate(errors))
        return pod if changed else None
