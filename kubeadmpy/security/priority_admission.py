"""Priority admission: a pod's priority comes from its PriorityClass, never from the client.

The two built-in classes are upstream's: system-node-critical (2000001000) and
system-cluster-critical (2000000000), both PreemptLowerPriority. Other names are looked up
(scheduling.k8s.io PriorityClass); without a name the globalDefault class applies, else 0.
A pod that states an integer priority different from its class's is refused, as upstream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubeadmpy.security.node_restriction import AdmissionDenied, AdmissionRequest

SYSTEM_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
DEFAULT_PREEMPTION = "PreemptLowerPriority"

PriorityClassGetter = Callable[[str], Mapping[str, Any] | None]


@dataclass
class PriorityAdmission:
    get_priority_class: PriorityClassGetter
    list_priority_classes: Callable[[], Iterable[Mapping[str, Any]]] = lambda: ()

    def admit(self, request: AdmissionRequest) -> dict[str, Any] | None:
        if (request.api_group, request.resource) == ("scheduling.k8s.io", "priorityclasses"):
            self._check_single_default(request)
            return None
        if (request.api_group, request.resource, request.subresource, request.operation) != \
                ("", "pods", "", "CREATE") or request.obj is None:
            return None
        # Only the pod and its spec change: copy those, not the whole tree (every pod write).
        given_spec = request.obj.get("spec")
        pod: dict[str, Any] = {**request.obj,
                               "spec": dict(given_spec) if isinstance(given_spec, Mapping)
                               else {}}
        spec = pod["spec"]
        name = str(spec.get("priorityClassName") or "")
        value, policy, default_name = self._resolve(name)
        if default_name:
            spec["priorityClassName"] = default_name
        stated = spec.get("priority")
        if stated is not None and stated != value:
            raise AdmissionDenied(f"the integer value of priority ({stated}) must not be "
                                  "provided in pod spec; priority admission controller "
                                  f"computed {value} from the given PriorityClass name")
        spec["priority"] = value
        spec.setdefault("preemptionPolicy", policy)
        return pod

    def _check_single_default(self, request: AdmissionRequest) -> None:
        """Only one class may be the global default (upstream refuses a second one)."""
        if request.operation not in ("CREATE", "UPDATE") or request.obj is None or \
                not request.obj.get("globalDefault"):
            return
        for other in self.list_priority_classes():
            other_name = str((other.get("metadata") or {}).get("name", ""))
            if other.get("globalDefault") and other_name != request.name:
                raise AdmissionDenied(f"PriorityClass {other_name} is already marked as "
                                      "default. Only one default can exist")

    def _resolve(self, name: str) -> tuple[int, str, str]:
        """(priority, preemption policy, default class name to record when none was given)."""
        if name in SYSTEM_CLASSES:
            return SYSTEM_CLASSES[name], DEFAULT_PREEMPTION, ""
        if name:
            found = self.get_priority_class(name)
            if found is None:
                raise AdmissionDenied(f"no PriorityClass with name {name} was found")
            return _value(found), _policy(found), ""
        for candidate in self.list_priority_classes():
            if candidate.get("globalDefault"):
                return (_value(candidate), _policy(candidate),
                        str((candidate.get("metadata") or {}).get("name", "")))
        return 0, DEFAULT_PREEMPTION, ""


def _value(priority_class: Mapping[str, Any]) -> int:
    value = priority_class.get("value", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _policy(priority_class: Mapping[str, Any]) -> str:
    return str(priority_class.get("preemptionPolicy") or DEFAULT_PREEMPTION)
