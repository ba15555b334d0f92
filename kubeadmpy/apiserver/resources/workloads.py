"""apps/v1 and batch/v1 workloads: deployments, replicasets, daemonsets, statefulsets, jobs,
cronjobs — with status and scale subresources and their pod-template rules."""

from __future__ import annotations

from typing import Any

from kubeadmpy.apiserver.resources.columns import (
    AGE,
    NAME,
    containers_cells,
    dig,
    selector_text,
    text,
)
from kubeadmpy.apiserver.resources.podspec import default_pod_spec, validate_template
from kubeadmpy.apiserver.resources.validation import non_negative, one_of, required
from kubeadmpy.machinery.registry import (
    STATUS_VERBS,
    JSONObject,
    ResourceSpec,
    Strategy,
    Subresource,
)
from kubeadmpy.machinery.status import Cause

STATUS = Subresource("status", STATUS_VERBS)
SCALE = Subresource("scale", STATUS_VERBS, "autoscaling", "v1", "Scale")


def _default_template(obj: JSONObject) -> None:
    spec = dig(obj, "spec", "template", "spec")
    if isinstance(spec, dict):
        default_pod_spec(spec)


class WorkloadStrategy(Strategy):
    """A kind with spec.selector + spec.template; generation tracks spec changes."""

    has_status = True
    tracks_generation = True
    default_replicas: bool = True

    def default(self, obj: JSONObject) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        if self.default_replicas:
            spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        _default_template(obj)

    def initial_status(self, obj: JSONObject) -> None:
        obj["status"] = {}

    def validate(self, obj: JSONObject) -> list[Cause]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return required(None, "spec")
        selector = spec.get("selector")
        causes = required(selector, "spec.selector")
        match_labels = (selector or {}).get("matchLabels") if isinstance(selector, dict) else None
        if isinstance(selector, dict) and not match_labels and not selector.get(
                "matchExpressions"):
            causes.append(Cause("FieldValueInvalid", "Invalid value: empty selector is invalid "
                                "for this kind", "spec.selector"))
        causes += validate_template(spec.get("template"), "spec.template",
                                    match_labels if isinstance(match_labels, dict) else None)
        causes += non_negative(spec.get("replicas"), "spec.replicas")
        return causes

    def validate_update(self, new: JSONObject, old: JSONObject) -> list[Cause]:
        causes = self.validate(new)
        if dig(new, "spec", "selector") != dig(old, "spec", "selector"):
            causes.append(Cause("FieldValueInvalid", "Invalid value: field is immutable",
                                "spec.selector"))
        return causes


class DeploymentStrategy(WorkloadStrategy):
    def default(self, obj: JSONObject) -> None:
        super().default(obj)
        spec = obj.get("spec")
        if isinstance(spec, dict):
            strategy = spec.setdefault("strategy", {})
            if isinstance(strategy, dict):
                strategy.setdefault("type", "RollingUpdate")
                if strategy["type"] == "RollingUpdate":
                    rolling = strategy.setdefault("rollingUpdate", {})
                    rolling.setdefault("maxUnavailable", "25%")
                    rolling.setdefault("maxSurge", "25%")
            spec.setdefault("progressDeadlineSeconds", 600)

    def validate(self, obj: JSONObject) -> list[Cause]:
        return super().validate(obj) + one_of(dig(obj, "spec", "strategy", "type"),
                                              ("Recreate", "RollingUpdate"), "spec.strategy.type")


class ReplicaSetStrategy(WorkloadStrategy):
    field_labels = ("status.replicas",)

    def default(self, obj: JSONObject) -> None:
        super().default(obj)
        if isinstance(obj.get("spec"), dict):
            obj["spec"].pop("revisionHistoryLimit", None)

    def selectable_fields(self, obj: JSONObject) -> dict[str, str]:
        return {"status.replicas": str(dig(obj, "status", "replicas", default=0))}


class DaemonSetStrategy(WorkloadStrategy):
    default_replicas = False

    def default(self, obj: JSONObject) -> None:
        super().default(obj)
        spec = obj.get("spec")
        if isinstance(spec, dict):
            strategy = spec.setdefault("updateStrategy", {})
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                strategy.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})

    def initial_status(self, obj: JSONObject) -> None:
        obj["status"] = {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                         "desiredNumberScheduled": 0, "numberReady": 0}


class StatefulSetStrategy(WorkloadStrategy):
    def default(self, obj: JSONObject) -> None:
        super().default(obj)
        spec = obj.get("spec")
        if isinstance(spec, dict):
            spec.setdefault("podManagementPolicy", "OrderedReady")
            strategy = spec.setdefault("updateStrategy", {})
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                strategy.setdefault("rollingUpdate", {"partition": 0})
            spec.setdefault("persistentVolumeClaimRetentionPolicy",
                            {"whenDeleted": "Retain", "whenScaled": "Retain"})

    def initial_status(self, obj: JSONObject) -> None:
        obj["status"] = {"replicas": 0, "availableReplicas": 0}


class JobStrategy(Strategy):
    has_status = True
    tracks_generation = True
    field_labels = ("status.successful",)

    def default(self, obj: JSONObject) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        # Upstream: neither set → both 1; parallelism alone → a work-queue Job (no completions).
        if spec.get("completions") is None and spec.get("parallelism") is None:
            spec["completions"] = 1
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        _default_template(obj)
        uid = obj.get("metadata", {}).get("uid")
        if uid and not spec.get("manualSelector") and not spec.get("selector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            template = spec.setdefault("template", {})
            if isinstance(template, dict):
                meta = template.setdefault("metadata", {})
                labels = meta.setdefault("labels", {})
                name = obj["metadata"].get("name", "")
                labels.update({"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
                               "batch.kubernetes.io/job-name": name, "job-name": name})

    def validate(self, obj: JSONObject) -> list[Cause]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return required(None, "spec")
        causes = validate_template(spec.get("template"), "spec.template", None)
        restart = dig(spec, "template", "spec", "restartPolicy")
        if restart not in ("Never", "OnFailure"):
            causes.append(Cause("FieldValueNotSupported", f'Unsupported value: "{restart}": '
                                'supported values: "OnFailure", "Never"',
                                "spec.template.spec.restartPolicy"))
        for key in ("parallelism", "completions", "backoffLimit"):
            causes += non_negative(spec.get(key), f"spec.{key}")
        return causes

    def validate_update(self, new: JSONObject, old: JSONObject) -> list[Cause]:
        causes = self.validate(new)
        for key in ("selector", "template", "completions"):
            if dig(new, "spec", key) != dig(old, "spec", key):
                causes.append(Cause("FieldValueInvalid", "Invalid value: field is immutable",
                                    f"spec.{key}"))
        return causes

    def selectable_fields(self, obj: JSONObject) -> dict[str, str]:
        return {"status.successful": str(dig(obj, "status", "succeeded", default=0))}


class CronJobStrategy(Strategy):
    has_status = True
    tracks_generation = True

    def default(self, obj: JSONObject) -> None:
        spec = obj.get("spec")
        if isinstance(spec, dict):
            spec.setdefault("concurrencyPolicy", "Allow")
            spec.setdefault("suspend", False)
            spec.setdefault("successfulJobsHistoryLimit", 3)
            spec.setdefault("failedJobsHistoryLimit", 1)
            template = dig(spec, "jobTemplate", "spec", "template", "spec")
            if isinstance(template, dict):
                default_pod_spec(template)

    def validate(self, obj: JSONObject) -> list[Cause]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return required(None, "spec")
        schedule = spec.get("schedule")
        causes = required(schedule, "spec.schedule")
        if isinstance(schedule, str) and schedule and not schedule.startswith("@") \
                and len(schedule.split()) != 5:
            causes.append(Cause("FieldValueInvalid", f'Invalid value: "{schedule}": expected '
                                "exactly 5 fields", "spec.schedule"))
        causes += one_of(spec.get("concurrencyPolicy"), ("Allow", "Forbid", "Replace"),
                         "spec.concurrencyPolicy")
        causes += validate_template(dig(spec, "jobTemplate", "spec", "template"),
                                    "spec.jobTemplate.spec.template", None)
        return causes


def _ready(ready_key: str, desired_key: str, from_spec: bool = True) -> Any:
    def cell(obj: JSONObject, _: float) -> str:
        desired = dig(obj, "spec", desired_key, default=0) if from_spec else dig(
            obj, "status", desired_key, default=0)
        return f"{dig(obj, 'status', ready_key, default=0)}/{desired}"
    return cell


def _status_int(key: str) -> Any:
    return lambda o, _: int(dig(o, "status", key, default=0) or 0)


def _template_columns() -> tuple[Any, ...]:
    return (text("Containers", lambda o, _: containers_cells(
                dig(o, "spec", "template", "spec", default={}))[0], 1),
            text("Images", lambda o, _: containers_cells(
                dig(o, "spec", "template", "spec", default={}))[1], 1),
            text("Selector", lambda o, _: selector_text(dig(o, "spec", "selector")), 1))


def _job_status(job: JSONObject) -> str:
    for condition in dig(job, "status", "conditions", default=[]) or []:
        if condition.get("status") == "True" and condition.get("type") in (
                "Complete", "Failed", "Suspended", "FailureTarget"):
            return str(condition["type"])
    return "Running"


def _job_duration(job: JSONObject, now: float) -> str:
    from kubeadmpy.machinery.objects import human_duration, parse_rfc3339
    start = dig(job, "status", "startTime")
    if not start:
        return ""
    end = dig(job, "status", "completionTime")
    return human_duration((parse_rfc3339(end) if end else now) - parse_rfc3339(start))


WORKLOADS = (
    ResourceSpec("apps", "v1", "Deployment", "deployments", "deployment", True,
                 short_names=("deploy",), categories=("all",), subresources=(STATUS, SCALE),
                 columns=(NAME, text("Ready", _ready("readyReplicas", "replicas")),
                          text("Up-to-date", _status_int("updatedReplicas"), type_="integer"),
                          text("Available", _status_int("availableReplicas"), type_="integer"),
                          AGE, *_template_columns()),
                 strategy=DeploymentStrategy()),
    ResourceSpec("apps", "v1", "ReplicaSet", "replicasets", "replicaset", True,
                 short_names=("rs",), categories=("all",), subresources=(STATUS, SCALE),
                 columns=(NAME, text("Desired", lambda o, _: dig(o, "spec", "replicas",
                                                                 default=0), type_="integer"),
                          text("Current", _status_int("replicas"), type_="integer"),
                          text("Ready", _status_int("readyReplicas"), type_="integer"),
                          AGE, *_template_columns()),
                 strategy=ReplicaSetStrategy()),
    ResourceSpec("apps", "v1", "DaemonSet", "daemonsets", "daemonset", True,
                 short_names=("ds",), categories=("all",), subresources=(STATUS,),
                 columns=(NAME,
                          text("Desired", _status_int("desiredNumberScheduled"),
                               type_="integer"),
                          text("Current", _status_int("currentNumberScheduled"),
                               type_="integer"),
                          text("Ready", _status_int("numberReady"), type_="integer"),
                          text("Up-to-date", _status_int("updatedNumberScheduled"),
                               type_="integer"),
                          text("Available", _status_int("numberAvailable"), type_="integer"),
                          text("Node Selector", lambda o, _: selector_text(
                              dig(o, "spec", "template", "spec", "nodeSelector"))),
                          AGE, *_template_columns()),
                 strategy=DaemonSetStrategy()),
    ResourceSpec("apps", "v1", "StatefulSet", "statefulsets", "statefulset", True,
                 short_names=("sts",), categories=("all",), subresources=(STATUS, SCALE),
                 columns=(NAME, text("Ready", _ready("readyReplicas", "replicas")), AGE,
                          *_template_columns()[:2]),
                 strategy=StatefulSetStrategy()),
    ResourceSpec("apps", "v1", "ControllerRevision", "controllerrevisions",
                 "controllerrevision", True,
                 columns=(NAME, text("Controller", lambda o, _: next(
                     (f"{r.get('kind', '').lower()}.apps/{r.get('name')}"
                      for r in o["metadata"].get("ownerReferences") or []), "<none>")),
                          text("Revision", lambda o, _: o.get("revision", 0), type_="integer"),
                          AGE)),
    ResourceSpec("batch", "v1", "Job", "jobs", "job", True, categories=("all",),
                 subresources=(STATUS,),
                 columns=(NAME, text("Status", lambda o, _: _job_status(o)),
                          text("Completions", lambda o, _: f"{dig(o, 'status', 'succeeded', default=0)}/"
                               f"{dig(o, 'spec', 'completions', default=1)}"),
                          text("Duration", _job_duration), AGE, *_template_columns()),
                 strategy=JobStrategy()),
    ResourceSpec("batch", "v1", "CronJob", "cronjobs", "cronjob", True, short_names=("cj",),
                 categories=("all",), subresources=(STATUS,),
                 columns=(NAME, text("Schedule", lambda o, _: dig(o, "spec", "schedule",
                                                                  default="")),
                          text("Timezone", lambda o, _: dig(o, "spec", "timeZone",
                                                            default="<none>")),
                          text("Suspend", lambda o, _: str(bool(dig(o, "spec", "suspend")))
                               .capitalize()),
                          text("Active", lambda o, _: len(dig(o, "status", "active",
                                                              default=[]) or []),
                               type_="integer"),
                          text("Last Schedule", lambda o, now: _since(
                              dig(o, "status", "lastScheduleTime"), now)), AGE),
                 strategy=CronJobStrategy()),
)


def _since(stamp: str | None, now: float) -> str:
    from kubeadmpy.machinery.objects import human_duration, parse_rfc3339
    return human_duration(now - parse_rfc3339(stamp)) if stamp else "<none>"
