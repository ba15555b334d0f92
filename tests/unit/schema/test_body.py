"""Request bodies get upstream's answers: 400 for undecodable values and (under Strict) for
unknown or duplicate fields, warnings under Warn, and 422 with causes for schema rules."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.machinery.schema import check_body, decode_json_body
from kubeadmpy.machinery.status import APIStatusError


def a_pod(**spec: Any) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {"containers": [{"name": "web", "image": "nginx"}]}
    pod_spec.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": pod_spec}


def raised_by(obj: dict[str, Any], mode: str, **kwargs: Any) -> APIStatusError:
    with pytest.raises(APIStatusError) as raised:
        check_body(obj, mode, **kwargs)
    return raised.value


def test_strict_rejects_unknown_fields_with_400() -> None:
    error = raised_by(a_pod(foo=1, bar=2), "Strict")
    assert (error.code, error.reason) == (400, "BadRequest")
    assert error.message == (
        'strict decoding error: unknown field "spec.foo", unknown field "spec.bar"')


def test_warn_returns_warnings_and_drops_the_fields() -> None:
    pod = a_pod(foo=1)
    assert check_body(pod, "Warn") == ['unknown field "spec.foo"']
    assert "foo" not in pod["spec"]


def test_ignore_drops_unknown_fields_silently() -> None:
    pod = a_pod()
    pod["spec"]["containers"][0]["imag"] = "x"
    assert check_body(pod, "Ignore") == []
    assert "imag" not in pod["spec"]["containers"][0]


def test_warn_is_the_default() -> None:
    assert check_body(a_pod(foo=1)) == ['unknown field "spec.foo"']


def test_a_value_the_decoder_cannot_read_is_400_in_every_mode() -> None:
    pod = a_pod(hostNetwork="yes")
    error = raised_by(pod, "Ignore")
    assert (error.code, error.message) == (
        400, 'Pod in version "v1" cannot be handled as a Pod: spec.hostNetwork: '
        'Invalid value: "yes": must be of type boolean, not string')


def test_schema_rule_violations_are_422_with_causes() -> None:
    pod = a_pod()
    del pod["spec"]["containers"][0]["name"]
    pod["spec"]["volumes"] = [{"emptyDir": {}}]
    status = raised_by(pod, "Strict").to_status()
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["message"] == ('Pod "web" is invalid: [spec.containers[0].name: Required '
                                 "value, spec.volumes[0].name: Required value]")
    assert status["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value",
         "field": "spec.containers[0].name"},
        {"reason": "FieldValueRequired", "message": "Required value",
         "field": "spec.volumes[0].name"}]
    assert status["details"]["kind"] == "Pod" and status["details"]["name"] == "web"


def test_an_unknown_field_validation_mode_is_a_bad_request() -> None:
    error = raised_by(a_pod(), "strict")
    assert error.code == 400
    assert '"strict"' in error.message and '"Strict"' in error.message


def test_duplicate_fields_are_found_with_their_paths() -> None:
    body = (b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","name":"b"},'
            b'"spec":{"containers":[{"name":"c","image":"x","image":"y"}]}}')
    obj, duplicates = decode_json_body(body)
    assert duplicates == ["metadata.name", "spec.containers[0].image"]
    assert obj["metadata"]["name"] == "b", "the last duplicate wins"


def test_duplicates_fail_strict_and_warn_otherwise() -> None:
    obj, duplicates = decode_json_body(
        b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","name":"b"},'
        b'"spec":{"containers":[{"name":"c","image":"i"}],"foo":1}}')
    error = raised_by(obj, "Strict", duplicate_fields=duplicates)
    assert error.message == ('strict decoding error: duplicate field "metadata.name", '
                             'unknown field "spec.foo"')
    assert check_body(obj, "Warn", duplicate_fields=duplicates) == [
        'duplicate field "metadata.name"', 'unknown field "spec.foo"']


def test_a_body_that_is_not_json_is_a_bad_request() -> None:
    with pytest.raises(APIStatusError) as raised:
        decode_json_body(b'{"kind": ')
    assert raised.value.code == 400
