"""Status bodies become typed errors that say whether a retry can help."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.client import errors


def status(code: int, reason: str, message: str = "m", **details: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                            "code": code, "reason": reason, "message": message}
    if details:
        body["details"] = details
    return body


CASES = [
    ("404 NotFound", 404, status(404, "NotFound"), errors.NotFound, False),
    ("409 AlreadyExists", 409, status(409, "AlreadyExists"), errors.AlreadyExists, False),
    ("409 Conflict", 409, status(409, "Conflict"), errors.Conflict, False),
    ("410 Expired is Gone", 410, status(410, "Expired"), errors.Gone, False),
    ("403 Forbidden", 403, status(403, "Forbidden"), errors.Forbidden, False),
    ("401 Unauthorized", 401, status(401, "Unauthorized"), errors.Unauthorized, False),
    ("422 Invalid", 422, status(422, "Invalid"), errors.Invalid, False),
    ("429 TooManyRequests is retryable", 429, status(429, "TooManyRequests"),
     errors.TooManyRequests, True),
    ("500 InternalError is retryable", 500, status(500, "InternalError"), errors.ServerError,
     True),
    ("503 ServiceUnavailable", 503, status(503, "ServiceUnavailable"),
     errors.ServiceUnavailable, True),
    ("504 Timeout", 504, status(504, "Timeout"), errors.ServerTimeout, True),
    ("a non-Status 404 body falls back to the code", 404, "404 page not found",
     errors.NotFound, False),
    ("an unknown 418 is a client error", 418, None, errors.ClientError, False),
    ("an unknown 599 is a server error", 599, None, errors.ServerError, True),
]


@pytest.mark.parametrize(("code", "body", "cls", "retryable"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_status_maps_to_class(code: int, body: Any, cls: type[errors.APIError],
                              retryable: bool) -> None:
    error = errors.from_status(code, body, fallback_message="text")
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.code == code


def test_invalid_lists_each_field_with_its_problem() -> None:
    error = errors.from_status(422, status(422, "Invalid", 'Pod "p" is invalid', causes=[
        {"reason": "FieldValueRequired", "message": "Required value",
         "field": "spec.containers"}]))
    assert error.causes == [errors.Cause("FieldValueRequired", "Required value",
                                         "spec.containers")]
    assert "spec.containers: Required value" in str(error)


def test_retry_after_comes_from_the_header_or_the_status_details() -> None:
    assert errors.from_status(429, status(429, "TooManyRequests"), retry_after=3).retry_after == 3
    assert errors.from_status(429, status(429, "TooManyRequests", retryAfterSeconds=7)
                              ).retry_after == 7
