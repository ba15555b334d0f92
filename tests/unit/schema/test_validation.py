"""Validation gives Status causes with exact field paths and finds unknown fields."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeadmpy.machinery.schema import GVK, find_unknown_fields, validate
from kubeadmpy.machinery.status import Cause


def a_pod(**spec: Any) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {"containers": [{"name": "web", "image": "nginx:1.27",
                                                "ports": [{"containerPort": 80}]}]}
    pod_spec.update(spec)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "labels": {"app": "web"}}, "spec": pod_spec}


def a_deployment() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}


def with_change(obj: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(obj)
    target = changed
    for step in path[:-1]:
        target = target[step]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


REQUIRED = "FieldValueRequired"
TYPE = "FieldValueTypeInvalid"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(a_pod(), [], id="a valid pod has no causes"),
        pytest.param(a_deployment(), [], id="a valid deployment has no causes"),
        pytest.param(with_change(a_pod(), ["spec", "containers", 0, "name"], KeyError),
                     [Cause(REQUIRED, "Required value", "spec.containers[0].name")],
                     id="a container without a name is a required-value cause"),
        pytest.param(with_change(a_pod(), ["spec", "containers"], None),
                     [Cause(REQUIRED, "Required value", "spec.containers")],
                     id="null counts as missing for required fields"),
        pytest.param(with_change(a_pod(), ["spec", "containers", 0, "image"], 3),
                     [Cause(TYPE, "Invalid value: 3: must be of type string, not integer",
                            "spec.containers[0].image")],
                     id="a number where a string belongs is a type cause at the exact path"),
        pytest.param(
            with_change(a_pod(), ["spec", "containers", 0, "ports", 0, "containerPort"], "80"),
            [Cause(TYPE, 'Invalid value: "80": must be of type integer, not string',
                   "spec.containers[0].ports[0].containerPort")],
            id="a string where an integer belongs is a type cause inside nested lists"),
        pytest.param(
            with_change(a_pod(), ["spec", "containers", 0, "ports", 0, "containerPort"], 2**40),
            [Cause(INVALID, f"Invalid value: {2**40}: must be a int32 integer",
                   "spec.containers[0].ports[0].containerPort")],
            id="an int32 field rejects values beyond 32 bits"),
        pytest.param(with_change(a_pod(), ["spec", "hostNetwork"], "yes"),
                     [Cause(TYPE, 'Invalid value: "yes": must be of type boolean, not string',
                            "spec.hostNetwork")],
                     id="a string where a boolean belongs is a type cause"),
        pytest.param(with_change(a_pod(), ["metadata", "labels", "app"], 1),
                     [Cause(TYPE, "Invalid value: 1: must be of type string, not integer",
                            "metadata.labels[app]")],
                     id="map values are checked and named by key"),
        pytest.param(with_change(a_pod(), ["spec", "containers"], {"name": "web"}),
                     [Cause(TYPE, "Invalid value: object: must be of type array, not object",
                            "spec.containers")],
                     id="an object where a list belongs is a type cause"),
        pytest.param(with_change(a_deployment(), ["spec", "selector"], KeyError),
                     [Cause(REQUIRED, "Required value", "spec.selector")],
                     id="a deployment without a selector misses a required field"),
        pytest.param(
            with_change(a_pod(), ["spec", "containers", 0, "resources"],
                        {"limits": {"cpu": 0.5, "memory": "64Mi"}}), [],
            id="quantities accept numbers and strings"),
        pytest.param(
            with_change(a_pod(), ["spec", "containers", 0, "resources"],
                        {"limits": {"cpu": True}}),
            [Cause(TYPE, "Invalid value: true: must be of type string or number, not boolean",
                   "spec.containers[0].resources.limits[cpu]")],
            id="quantities reject booleans"),
    ],
)
def test_validation_causes(obj: dict[str, Any], expected: list[Cause]) -> None:
    assert validate(obj) == expected


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                      "data": {"ok": "aGVsbG8=", "bad": "not base64!"}},
                     [Cause(INVALID, 'Invalid value: "not base64!": must be base64 encoded data',
                            "data[bad]")],
                     id="secret data must be base64"),
        pytest.param({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": "p", "creationTimestamp": "2024-05-01T12:00:00Z",
                                   "deletionTimestamp": "yesterday"}},
                     [Cause(INVALID, 'Invalid value: "yesterday": must be an RFC 3339 time',
                            "metadata.deletionTimestamp")],
                     id="timestamps must be RFC 3339"),
    ],
)
def test_string_formats(obj: dict[str, Any], expected: list[Cause]) -> None:
    assert validate(obj) == expected


def test_a_service_target_port_is_int_or_string() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"ports": [{"port": 80, "targetPort": "http"},
                                  {"port": 81, "targetPort": 8081},
                                  {"port": 82, "targetPort": False}]}}
    assert validate(service) == [Cause(
        TYPE, "Invalid value: false: must be of type string or integer, not boolean",
        "spec.ports[2].targetPort")]


def test_a_kind_that_does_not_match_the_url_kind_is_not_supported() -> None:
    assert validate({"apiVersion": "v1", "kind": "Service"}, GVK("", "v1", "Pod")) == [
        Cause(NOT_SUPPORTED, 'Unsupported value: "Service": supported values: "Pod"', "kind")]


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(a_pod(), [], id="a pod with only known fields has none"),
        pytest.param(with_change(a_pod(), ["spec", "foo"], 1), ["spec.foo"],
                     id="an unknown spec field is named by its path"),
        pytest.param(with_change(a_pod(), ["spec", "containers", 0, "imag"], "x"),
                     ["spec.containers[0].imag"], id="a typo inside a list item"),
        pytest.param(with_change(a_pod(), ["metadata", "labelz"], {}), ["metadata.labelz"],
                     id="a typo in metadata"),
        pytest.param(with_change(a_pod(), ["metadata", "labels", "anything"], "goes"), [],
                     id="label keys are map keys, not fields"),
        pytest.param({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                      "data": {"any-key": "v"}}, [], id="configmap data keys are map keys"),
    ],
)
def test_unknown_fields(obj: dict[str, Any], expected: list[str]) -> None:
    assert find_unknown_fields(obj) == expected


def test_kinds_without_a_schema_pass_unchecked() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"anything": [1]}}
    assert validate(widget) == [] and find_unknown_fields(widget) == []
