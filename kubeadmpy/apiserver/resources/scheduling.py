"""PriorityClasses (scheduling.k8s.io/v1): the objects Priority admission reads a pod's priority
from, with upstream's rules — `system-` names are reserved for the two built-in classes, user
classes stay at or below 1,000,000,000, and value and preemption policy never change."""

from __future__ import annotations

from kubeadmpy.apiserver.resources.columns import AGE, NAME, text
from kubeadmpy.apiserver.resources.validation import immutable, one_of
from kubeadmpy.machinery.registry import JSONObject, ResourceSpec, Strategy
from kubeadmpy.machinery.status import Cause
from kubeadmpy.security.priority_admission import DEFAULT_PREEMPTION, SYSTEM_CLASSES

HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_PREFIX = "system-"
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")

#: The built-in classes every API server creates at start-up, as upstream's.
SYSTEM_PRIORITY_CLASSES: tuple[JSONObject, ...] = (
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
     "metadata": {"name": "system-node-critical"},
     "value": SYSTEM_CLASSES["system-node-critical"],
     "description": "Used for system critical pods that must not be moved from their current "
                    "node."},
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
     "metadata": {"name": "system-cluster-critical"},
     "value": SYSTEM_CLASSES["system-cluster-critical"],
     "description": "Used for system critical pods that must run in the cluster, but can be "
                    "moved to another node if necessary."},
)


class PriorityClassStrategy(Strategy):
    def default(self, obj: JSONObject) -> None:
        obj.setdefault("preemptionPolicy", DEFAULT_PREEMPTION)

    def validate(self, obj: JSONObject) -> list[Cause]:
        name = str((obj.get("metadata") or {}).get("name", ""))
        value = obj.get("value", 0)
        causes: list[Cause] = []
        if name.startswith(SYSTEM_PREFIX):
            if SYSTEM_CLASSES.get(name) != value or obj.get("globalDefault"):
                causes.append(Cause(
                    "FieldValueForbidden", "Forbidden: priority class names with "
                    f"'{SYSTEM_PREFIX}' prefix are reserved for system use only", "metadata.name"))
        elif isinstance(value, int) and value > HIGHEST_USER_DEFINABLE_PRIORITY:
            causes.append(Cause(
                "FieldValueForbidden", "Forbidden: maximum allowed value of a user defined "
                f"priority is {HIGHEST_USER_DEFINABLE_PRIORITY}", "value"))
        return causes + one_of(obj.get("preemptionPolicy"), PREEMPTION_POLICIES,
                               "preemptionPolicy")

    def validate_update(self, new: JSONObject, old: JSONObject) -> list[Cause]:
        return (self.validate(new) + immutable(new.get("value", 0), old.get("value", 0), "value")
                + immutable(new.get("preemptionPolicy"), old.get("preemptionPolicy"),
                            "preemptionPolicy"))


SCHEDULING = (
    ResourceSpec("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass",
                 False, short_names=("pc",),
                 columns=(NAME, text("Value", lambda o, _: o.get("value", 0), type_="integer"),
                          text("Global-Default", lambda o, _: bool(o.get("globalDefault")),
                               type_="boolean"), AGE,
                          text("PreemptionPolicy",
                               lambda o, _: o.get("preemptionPolicy", DEFAULT_PREEMPTION))),
                 strategy=PriorityClassStrategy()),
)
