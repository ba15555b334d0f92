"""What the workload controllers share: owner references, pod states, conditions, template
hashes and the "expectations" that keep a controller from acting twice on a stale cache.

Why expectations: after a controller creates 5 pods its informer may not have seen them yet;
a reconcile in that window would count 0 pods and create 5 more. Upstream records how many
creations/deletions it expects per owner and skips replica management until the informer has
observed them (or 5 minutes passed). Same here, keyed by the owner's namespace/name.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubeadmpy.client.clock import Clock, RealClock
from kubeadmpy.client.informer import EventHandler
from kubeadmpy.machinery.selectors import label_selector_from_object

JSONObject = dict[str, Any]
EXPECTATIONS_TIMEOUT = 300.0
# upstream's rand.SafeEncodeString alphabet: no vowels (no words) and no look-alike characters
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def meta(obj: Mapping[str, Any]) -> JSONObject:
    result: JSONObject = obj.get("metadata") or {}
    return result


def key_of(obj: Mapping[str, Any]) -> str:
    m = meta(obj)
    return f"{m.get('namespace')}/{m.get('name')}" if m.get("namespace") else str(m.get("name"))


def now_rfc3339(clock: Clock | None = None) -> str:
    moment = clock.wall() if clock is not None else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def controller_ref(owner: Mapping[str, Any]) -> JSONObject:
    """The ownerReference a controller puts on what it creates (controller + blocking)."""
    m = meta(owner)
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": m["name"],
            "uid": m["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_of(obj: Mapping[str, Any]) -> JSONObject | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == meta(owner).get("uid")


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None
                     ) -> bool:
    """A nil or empty selector matches nothing for workload controllers (as upstream)."""
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return False
    return label_selector_from_object(selector).matches(labels or {})


def is_pod_active(pod: Mapping[str, Any]) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not meta(pod).get("deletionTimestamp")


def pod_condition(pod: Mapping[str, Any], kind: str) -> JSONObject | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    condition = pod_condition(pod, "Ready")
    return condition is not None and condition.get("status") == "True"


def is_pod_available(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    """Ready for at least minReadySeconds (judged from the Ready condition's transition)."""
    condition = pod_condition(pod, "Ready")
    if condition is None or condition.get("status") != "True":
        return False
    if min_ready_seconds <= 0:
        return True
    since = parse_time(condition.get("lastTransitionTime"))
    return since is not None and since + min_ready_seconds <= now


def find_condition(status: Mapping[str, Any], kind: str) -> JSONObject | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None


def set_condition(status: JSONObject, kind: str, state: str, reason: str, message: str,
                  now: str, *, with_update_time: bool = False) -> None:
    """Replace the condition of `kind`; keep lastTransitionTime when the status is unchanged
    (and, like upstream's deployment util, also when only the reason changes)."""
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    old = find_condition(status, kind)
    condition: JSONObject = {"type": kind, "status": state}
    if with_update_time:
        condition["lastUpdateTime"] = now
    transition = now
    if old is not None and old.get("status") == state and old.get("lastTransitionTime"):
        transition = old["lastTransitionTime"]
    condition["lastTransitionTime"] = transition
    condition["reason"] = reason
    condition["message"] = message
    conditions.append(condition)
    status["conditions"] = conditions


def remove_condition(status: JSONObject, kind: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != kind]


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    return "".join(SAFE_ALPHABET[ord(ch) % len(SAFE_ALPHABET)] for ch in text)


def template_hash(template: Mapping[str, Any], collision_count: int = 0) -> str:
    """A short stable hash of a pod template (FNV-32a, then upstream's safe alphabet): what
    `pod-template-hash` and `controller-revision-hash` labels carry."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    return safe_encode(str(fnv32a(data)))


def pod_from_template(template: Mapping[str, Any], owner: Mapping[str, Any],
                      *, name: str = "", generate_name: str = "",
                      extra_labels: Mapping[str, str] | None = None) -> JSONObject:
    tmeta = template.get("metadata") or {}
    labels = {**(tmeta.get("labels") or {}), **(extra_labels or {})}
    pod_meta: JSONObject = {"namespace": meta(owner).get("namespace"), "labels": labels,
                            "ownerReferences": [controller_ref(owner)]}
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        pod_meta["finalizers"] = list(tmeta["finalizers"])
    if name:
        pod_meta["name"] = name
    else:
        pod_meta["generateName"] = generate_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta,
            "spec": copy.deepcopy(template.get("spec") or {})}


def int_or_percent(value: Any, total: int, *, round_up: bool) -> int:
    """Upstream's intstr scaling: 25% of 10 is 3 rounding up (surge) and 2 rounding down."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        percent = int(text[:-1])
        scaled = percent * total
        return -(-scaled // 100) if round_up else scaled // 100
    return int(text)


@dataclass
class _Expectation:
    adds: int
    dels: int
    since: float


class Expectations:
    """Per-owner counts of creations/deletions not yet seen by the informer."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or RealClock()
        self._items: dict[str, _Expectation] = {}

    def expect(self, key: str, adds: int = 0, dels: int = 0) -> None:
        self._items[key] = _Expectation(adds, dels, self.clock.now())

    def observed_add(self, key: str) -> None:
        item = self._items.get(key)
        if item is not None:
            item.adds -= 1

    def observed_delete(self, key: str) -> None:
        item = self._items.get(key)
        if item is not None:
            item.dels -= 1

    def lower(self, key: str, adds: int = 0, dels: int = 0) -> None:
        """A create/delete failed: do not wait for its event."""
        item = self._items.get(key)
        if item is not None:
            item.adds -= adds
            item.dels -= dels

    def satisfied(self, key: str) -> bool:
        item = self._items.get(key)
        if item is None:
            return True
        return (item.adds <= 0 and item.dels <= 0) or \
            self.clock.now() - item.since > EXPECTATIONS_TIMEOUT

    def forget(self, key: str) -> None:
        self._items.pop(key, None)


def observe_into(expectations: Expectations, kind: str) -> EventHandler:
    """Informer handler crediting pod adds/deletes to their controlling owner's expectations."""
    def added(pod: JSONObject) -> None:
        for key in owner_keys(pod, kind):
            expectations.observed_add(key)

    def deleted(pod: JSONObject) -> None:
        for key in owner_keys(pod, kind):
            expectations.observed_delete(key)
    return EventHandler(on_add=added, on_delete=deleted)


def owner_keys(obj: Mapping[str, Any], kind: str) -> Iterable[str]:
    ns = meta(obj).get("namespace") or ""
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == kind:
            yield f"{ns}/{ref.get('name')}" if ns else str(ref.get("name"))
