"""Kubernetes `Status` errors: one exception type that every API failure becomes.

Clients (kubectl, client-go, the Python client) read `reason`, `code` and `details.causes`, so the
shapes and message patterns follow upstream `metav1.Status` exactly; everything else the apiserver
raises is translated into an `APIStatusError` at its adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubeadmpy.errors import KubeadmpyError


@dataclass(frozen=True)
class Cause:
    """One bad field of an Invalid (422) response: `field` is a JSON path like spec.containers[0]."""

    reason: str
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


@dataclass
class StatusDetails:
    name: str = ""
    group: str = ""
    kind: str = ""
    uid: str = ""
    causes: list[Cause] = field(default_factory=list)
    retry_after_seconds: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (("name", self.name), ("group", self.group), ("kind", self.kind),
                           ("uid", self.uid)):
            if value:
                out[key] = value
        if self.causes:
            out["causes"] = [c.to_dict() for c in self.causes]
        if self.retry_after_seconds:
            out["retryAfterSeconds"] = self.retry_after_seconds
        return out


class APIStatusError(KubeadmpyError):
    """An API request failed; `to_status()` is the body, `code` the HTTP status."""

    def __init__(self, code: int, reason: str, message: str,
                 details: StatusDetails | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            status["details"] = self.details.to_dict()
        return status


def qualified_resource(resource: str, group: str) -> str:
    """`pods` or `deployments.apps`: how upstream names a resource in messages."""
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> APIStatusError:
    return APIStatusError(404, "NotFound",
                          f'{qualified_resource(resource, group)} "{name}" not found',
                          StatusDetails(name=name, group=group, kind=resource))


def path_not_found() -> APIStatusError:
    return APIStatusError(404, "NotFound", "the server could not find the requested resource",
                          StatusDetails())


def already_exists(resource: str, group: str, name: str) -> APIStatusError:
    return APIStatusError(409, "AlreadyExists",
                          f'{qualified_resource(resource, group)} "{name}" already exists',
                          StatusDetails(name=name, group=group, kind=resource))


def conflict(resource: str, group: str, name: str, why: str) -> APIStatusError:
    return APIStatusError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {qualified_resource(resource, group)} "{name}": {why}',
        StatusDetails(name=name, group=group, kind=resource))


STALE_OBJECT = ("the object has been modified; please apply your changes to the latest version "
                "and try again")


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> APIStatusError:
    listed = ", ".join(f"{c.field}: {c.message}" if c.field else c.message for c in causes)
    return APIStatusError(422, "Invalid", f'{kind} "{name}" is invalid: [{listed}]'
                          if len(causes) > 1 else f'{kind} "{name}" is invalid: {listed}',
                          StatusDetails(name=name, group=group, kind=kind, causes=causes))


def bad_request(message: str) -> APIStatusError:
    return APIStatusError(400, "BadRequest", message)


def forbidden(message: str) -> APIStatusError:
    return APIStatusError(403, "Forbidden", message)


def unauthorized() -> APIStatusError:
    return APIStatusError(401, "Unauthorized", "Unauthorized")


def gone(message: str) -> APIStatusError:
    return APIStatusError(410, "Expired", message)


def method_not_allowed() -> APIStatusError:
    return APIStatusError(405, "MethodNotAllowed",
                          "the server does not allow this method on the requested resource")


def unsupported_media_type(content_type: str, accepted: list[str], why: str = "") -> APIStatusError:
    message = (f"the body of the request was in an unknown format - accepted media types include: "
               f"{', '.join(accepted)}")
    if why:
        message = f"{content_type}: {why}; {message}"
    return APIStatusError(415, "UnsupportedMediaType", message)


def not_acceptable(accepted: list[str]) -> APIStatusError:
    return APIStatusError(406, "NotAcceptable",
                          f"only the following media types are accepted: {', '.join(accepted)}")


def too_large(limit: int) -> APIStatusError:
    return APIStatusError(413, "RequestEntityTooLarge",
                          f"Request entity too large: limit is {limit}")


def not_implemented(message: str) -> APIStatusError:
    return APIStatusError(501, "NotImplemented", message)


def resource_version_too_large(requested: int, current: int) -> APIStatusError:
    return APIStatusError(
        504, "Timeout", f"Too large resource version: {requested}, current: {current}",
        StatusDetails(causes=[Cause("ResourceVersionTooLarge", "Too large resource version")],
                      retry_after_seconds=1))


def service_unavailable(message: str) -> APIStatusError:
    return APIStatusError(503, "ServiceUnavailable", message)


def internal_error(message: str) -> APIStatusError:
    return APIStatusError(500, "InternalError", f"Internal error occurred: {message}")


def success_status(details: StatusDetails | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                           "status": "Success"}
    if details is not None:
        out["details"] = details.to_dict()
    return out
