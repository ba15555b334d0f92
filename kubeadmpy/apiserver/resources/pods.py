"""core/v1 pods: defaults, validation, update rules, graceful deletion and their table."""

from __future__ import annotations

from typing import Any

from kubeadmpy.apiserver.resources.columns import AGE, NAME, dig, text
from kubeadmpy.apiserver.resources.podspec import default_pod_spec, validate_pod_spec
from kubeadmpy.machinery.registry import (
    STATUS_VERBS,
    JSONObject,
    ResourceSpec,
    Strategy,
    Subresource,
)
from kubeadmpy.machinery.status import Cause

STATUS = Subresource("status", STATUS_VERBS)

# --- pods -------------------------------------------------------------------------------------


def _qos_class(spec: JSONObject) -> str:
    requests_set = limits_set = False
    guaranteed = True
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        requests_set |= bool(requests)
        limits_set |= bool(limits)
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                guaranteed = False
    if not requests_set and not limits_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _default_requests_to_limits(spec: JSONObject) -> None:
    """A container with a limit but no request for a resource requests its limit (upstream's
    SetDefaults_Pod; pods only, not templates), before LimitRanger and ResourceQuota look.
    Done on create only: resources cannot change afterwards, and a pod stored without the
    defaults must stay updatable."""
    for key in ("containers", "initContainers"):
        containers = spec.get(key)
        for container in containers if isinstance(containers, list) else ():
            resources = container.get("resources") if isinstance(container, dict) else None
            limits = resources.get("limits") if isinstance(resources, dict) else None
            if not isinstance(limits, dict) or not limits:
                continue
            assert isinstance(resources, dict)
            requests = resources.get("requests")
            requests = dict(requests) if isinstance(requests, dict) else {}
            for name, quantity in limits.items():
                requests.setdefault(name, quantity)
            resources["requests"] = requests


class PodStrategy(Strategy):
    has_status = True
    field_labels = ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                    "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                    "status.podIP", "status.nominatedNodeName")

    def default(self, obj: JSONObject) -> None:
        if isinstance(obj.get("spec"), dict):
            default_pod_spec(obj["spec"])

    def prepare_for_create(self, obj: JSONObject) -> None:
        if isinstance(obj.get("spec"), dict):
            _default_requests_to_limits(obj["spec"])
        super().prepare_for_create(obj)

    def initial_status(self, obj: JSONObject) -> None:
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        obj["status"] = {"phase": "Pending", "qosClass": _qos_class(spec or {})}

    def validate(self, obj: JSONObject) -> list[Cause]:
        return validate_pod_spec(obj.get("spec"), "spec")

    def validate_update(self, new: JSONObject, old: JSONObject) -> list[Cause]:
        causes = self.validate(new)

        def without_images(spec: Any) -> Any:
            if not isinstance(spec, dict):
                return spec
            out = dict(spec)
            for key in ("containers", "initContainers"):
                out[key] = [{k: v for k, v in c.items() if k != "image"}
                            for c in spec.get(key) or [] if isinstance(c, dict)]
            out.pop("activeDeadlineSeconds", None)
            out.pop("tolerations", None)
            out.pop("schedulingGates", None)  # checked below: removals only
            return out

        if without_images(new.get("spec")) != without_images(old.get("spec")):
            causes.append(Cause("FieldValueForbidden", "Forbidden: pod updates may not change "
                                "fields other than `spec.containers[*].image`, "
                                "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds` "
                                "or `spec.tolerations` (only additions to existing tolerations)",
                                "spec"))
        return causes + _scheduling_gate_changes(new.get("spec"), old.get("spec"))

    def selectable_fields(self, obj: JSONObject) -> dict[str, str]:
        spec, stat = obj.get("spec") or {}, obj.get("status") or {}
        return {"spec.nodeName": spec.get("nodeName", ""),
                "spec.restartPolicy": spec.get("restartPolicy", ""),
                "spec.schedulerName": spec.get("schedulerName", ""),
                "spec.serviceAccountName": spec.get("serviceAccountName", ""),
                "spec.hostNetwork": str(bool(spec.get("hostNetwork", False))).lower(),
                "status.phase": stat.get("phase", ""),
                "status.podIP": stat.get("podIP", ""),
                "status.nominatedNodeName": stat.get("nominatedNodeName", "")}

    def begin_delete(self, obj: JSONObject, grace_seconds: int | None) -> bool:
        spec, stat = obj.get("spec") or {}, obj.get("status") or {}
        if grace_seconds is None:
            grace_seconds = int(spec.get("terminationGracePeriodSeconds", 30))
        if grace_seconds < 0:
            grace_seconds = 1
        if not spec.get("nodeName") or stat.get("phase") in ("Succeeded", "Failed") \
                or grace_seconds == 0:
            return False
        obj["metadata"]["deletionGracePeriodSeconds"] = grace_seconds
        return True

    def ready_to_vanish(self, obj: JSONObject) -> bool:
        return not obj["metadata"].get("deletionGracePeriodSeconds")


def _gate_names(spec: Any) -> list[str]:
    gates = spec.get("schedulingGates") if isinstance(spec, dict) else None
    return [str(g.get("name")) for g in gates or [] if isinstance(g, dict)]


def _scheduling_gate_changes(new_spec: Any, old_spec: Any) -> list[Cause]:
    """Gates may be removed (that is how a pod is released to the scheduler), never added."""
    old = set(_gate_names(old_spec))
    return [Cause("FieldValueForbidden", "Forbidden: only deletion is allowed, but found new "
                  f"scheduling gate '{name}'", "spec.schedulingGates")
            for name in _gate_names(new_spec) if name not in old]


def _pod_status_text(pod: JSONObject) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    stat = pod.get("status") or {}
    reason = stat.get("reason") or stat.get("phase") or "Unknown"
    for container in stat.get("containerStatuses") or []:
        waiting = dig(container, "state", "waiting", "reason")
        terminated = dig(container, "state", "terminated", "reason")
        if waiting:
            reason = waiting
        elif terminated and reason == "Running":
            reason = terminated
    return str(reason)


def _pod_ready(pod: JSONObject) -> str:
    total = len(dig(pod, "spec", "containers", default=[]) or [])
    ready = sum(1 for c in dig(pod, "status", "containerStatuses", default=[]) or []
                if c.get("ready"))
    return f"{ready}/{total}"


def _pod_restarts(pod: JSONObject) -> int:
    return sum(int(c.get("restartCount", 0))
               for c in dig(pod, "status", "containerStatuses", default=[]) or [])


PODS = ResourceSpec(
    "", "v1", "Pod", "pods", "pod", True, short_names=("po",), categories=("all",),
    subresources=(STATUS, Subresource("binding", ("create",), kind="Binding"),
                  Subresource("eviction", ("create",), "policy", "v1", "Eviction"),
                  Subresource("log", ("get",), kind="Pod"),
                  Subresource("exec", ("create", "get"), kind="PodExecOptions"),
                  Subresource("attach", ("create", "get"), kind="PodAttachOptions"),
                  Subresource("portforward", ("create", "get"), kind="PodPortForwardOptions")),
    columns=(NAME, text("Ready", lambda o, _: _pod_ready(o)),
             text("Status", lambda o, _: _pod_status_text(o)),
             text("Restarts", lambda o, _: _pod_restarts(o), type_="integer"), AGE,
             text("IP", lambda o, _: dig(o, "status", "podIP", default="<none>"), 1),
             text("Node", lambda o, _: dig(o, "spec", "nodeName", default="<none>"), 1),
             text("Nominated Node",
                  lambda o, _: dig(o, "status", "nominatedNodeName", default="<none>"), 1),
             text("Readiness Gates", lambda o, _: "<none>", 1)),
    strategy=PodStrategy())
