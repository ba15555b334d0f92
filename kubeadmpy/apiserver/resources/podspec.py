"""PodSpec defaults and validation, shared by pods and every kind with a pod template."""

from __future__ import annotations

from typing import Any

from kubeadmpy.apiserver.resources.validation import dns_label, non_negative, one_of, required
from kubeadmpy.machinery.status import Cause


def _image_pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def default_container(container: dict[str, Any]) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    if isinstance(container.get("image"), str):
        container.setdefault("imagePullPolicy", _image_pull_policy(container["image"]))
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def default_pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    if spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                default_container(container)


def validate_pod_spec(spec: Any, path: str) -> list[Cause]:
    if not isinstance(spec, dict):
        return required(None, path)
    causes: list[Cause] = []
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        causes += required(None, f"{path}.containers")
    seen: set[str] = set()
    for key in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(key) or []):
            where = f"{path}.{key}[{index}]"
            if not isinstance(container, dict):
                causes.append(Cause("FieldValueTypeInvalid", "must be an object", where))
                continue
            name = container.get("name")
            causes += dns_label(name, f"{where}.name")
            if isinstance(name, str) and name in seen:
                causes.append(Cause("FieldValueDuplicate", f'Duplicate value: "{name}"',
                                    f"{where}.name"))
            seen.add(str(name))
            causes += required(container.get("image"), f"{where}.image")
            causes += one_of(container.get("imagePullPolicy"),
                             ("Always", "IfNotPresent", "Never"), f"{where}.imagePullPolicy")
            for pindex, port in enumerate(container.get("ports") or []):
                number = port.get("containerPort") if isinstance(port, dict) else None
                if not isinstance(number, int) or not 0 < number < 65536:
                    causes.append(Cause("FieldValueInvalid", f"Invalid value: {number}: must be "
                                        "between 1 and 65535, inclusive",
                                        f"{where}.ports[{pindex}].containerPort"))
    causes += one_of(spec.get("restartPolicy"), ("Always", "OnFailure", "Never"),
                     f"{path}.restartPolicy")
    causes += one_of(spec.get("dnsPolicy"),
                     ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"),
                     f"{path}.dnsPolicy")
    causes += non_negative(spec.get("terminationGracePeriodSeconds"),
                           f"{path}.terminationGracePeriodSeconds")
    return causes


def validate_template(template: Any, path: str, selector_labels: dict[str, str] | None
                      ) -> list[Cause]:
    if not isinstance(template, dict):
        return required(None, path)
    causes = validate_pod_spec(template.get("spec"), f"{path}.spec")
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector_labels is not None and any(labels.get(k) != v for k, v in selector_labels.items()):
        causes.append(Cause("FieldValueInvalid", "Invalid value: selector does not match "
                            "template labels", f"{path}.metadata.labels"))
    return causes
