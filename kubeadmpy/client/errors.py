"""Typed API errors built from `metav1.Status` bodies, each saying whether a retry can help.

Controllers decide what to do from the class alone: `NotFound` usually means "nothing to do",
`Conflict` means "re-read and try again", `Invalid` is the caller's bug, and everything with
`retryable = True` (429, 5xx, a broken connection) is worth the same request again later. The
mapping follows upstream's reasons and codes (apimachinery's api/errors), never our server's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeadmpy.errors import KubeadmpyError


@dataclass(frozen=True)
class Cause:
    """One entry of `details.causes`: for Invalid, `field` is a path like spec.replicas."""

    reason: str
    message: str
    field: str = ""


class APIError(KubeadmpyError):
    """A request the API server (or the connection to it) refused.

    `retryable`: the *same* request may succeed later (throttling, server trouble, transport).
    """

    retryable = False
    default_reason = ""

    def __init__(self, code: int, reason: str, message: str,
                 status: dict[str, Any] | None = None, *, retry_after: float | None = None
                 ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason or self.default_reason
        self.message = message
        self.status: dict[str, Any] = status or {}
        self.retry_after = retry_after

    @property
    def details(self) -> dict[str, Any]:
        details = self.status.get("details")
        return details if isinstance(details, dict) else {}

    @property
    def causes(self) -> list[Cause]:
        out = []
        for cause in self.details.get("causes") or []:
            if isinstance(cause, dict):
                out.append(Cause(str(cause.get("reason", "")), str(cause.get("message", "")),
                                 str(cause.get("field", ""))))
        return out

    def __str__(self) -> str:
        return f"{self.reason or self.code}: {self.message}"


class ClientError(APIError):
    """4xx: the request itself was wrong for the current state; repeating it as is won't help."""


class BadRequest(ClientError):
    default_reason = "BadRequest"


class Unauthorized(ClientError):
    default_reason = "Unauthorized"


class Forbidden(ClientError):
    default_reason = "Forbidden"


class NotFound(ClientError):
    default_reason = "NotFound"


class MethodNotAllowed(ClientError):
    default_reason = "MethodNotAllowed"


class NotAcceptable(ClientError):
    default_reason = "NotAcceptable"


class AlreadyExists(ClientError):
    default_reason = "AlreadyExists"


class Conflict(ClientError):
    """409 on a stale resourceVersion, a failed precondition or an apply conflict: re-read."""

    default_reason = "Conflict"


class Gone(ClientError):
    """410 Expired: the resourceVersion is too old; list again."""

    default_reason = "Expired"


class RequestEntityTooLarge(ClientError):
    default_reason = "RequestEntityTooLarge"


class UnsupportedMediaType(ClientError):
    default_reason = "UnsupportedMediaType"


class Invalid(ClientError):
    """422: the object failed validation; `causes` lists each field with its problem."""

    default_reason = "Invalid"

    def __str__(self) -> str:
        lines = [super().__str__()]
        lines += [f"  * {c.field}: {c.message}" if c.field else f"  * {c.message}"
                  for c in self.causes]
        return "\n".join(lines)


class TooManyRequests(APIError):
    """429: throttled (or an eviction blocked by a PodDisruptionBudget); honour retry_after."""

    retryable = True
    default_reason = "TooManyRequests"


class ServerError(APIError):
    """5xx: the server failed; the same request may succeed later."""

    retryable = True
    default_reason = "InternalError"


class ServiceUnavailable(ServerError):
    default_reason = "ServiceUnavailable"


class ServerTimeout(ServerError):
    """504 (reason Timeout), e.g. `Too large resource version` while a cache catches up."""

    default_reason = "Timeout"


class TransportError(APIError):
    """No HTTP answer at all: refused connection, TLS failure, reset stream, client timeout."""

    retryable = True
    default_reason = "TransportError"


_BY_REASON: dict[str, type[APIError]] = {
    "AlreadyExists": AlreadyExists, "Conflict": Conflict, "Invalid": Invalid,
    "NotFound": NotFound, "Expired": Gone, "Gone": Gone, "Forbidden": Forbidden,
    "Unauthorized": Unauthorized, "BadRequest": BadRequest, "TooManyRequests": TooManyRequests,
    "MethodNotAllowed": MethodNotAllowed, "NotAcceptable": NotAcceptable,
    "UnsupportedMediaType": UnsupportedMediaType, "RequestEntityTooLarge": RequestEntityTooLarge,
    "ServiceUnavailable": ServiceUnavailable, "Timeout": ServerTimeout,
    "ServerTimeout": ServerTimeout, "InternalError": ServerError,
}
_BY_CODE: dict[int, type[APIError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 405: MethodNotAllowed,
    406: NotAcceptable, 409: Conflict, 410: Gone, 413: RequestEntityTooLarge,
    415: UnsupportedMediaType, 422: Invalid, 429: TooManyRequests, 503: ServiceUnavailable,
    504: ServerTimeout,
}


def error_class(code: int, reason: str) -> type[APIError]:
    """The class for a Status: the reason decides when it is known (409 is AlreadyExists or
    Conflict), else the code; unknown 4xx/5xx fall back to ClientError/ServerError."""
    by_reason = _BY_REASON.get(reason)
    if by_reason is not None and (code == 0 or code // 100 in (4, 5)):
        return by_reason
    if code in _BY_CODE:
        return _BY_CODE[code]
    return ServerError if code >= 500 else ClientError


def from_status(code: int, body: Any, *, retry_after: float | None = None,
                fallback_message: str = "") -> APIError:
    """The typed error for an HTTP error answer; `body` is the decoded JSON (ideally a Status)."""
    status: dict[str, Any] = body if isinstance(body, dict) else {}
    if status.get("kind") != "Status":
        status = {}
    code = int(status.get("code") or code)
    reason = str(status.get("reason") or "")
    message = str(status.get("message") or fallback_message or f"HTTP {code}")
    if retry_after is None:
        seconds = (status.get("details") or {}).get("retryAfterSeconds") \
            if isinstance(status.get("details"), dict) else None
        if isinstance(seconds, int | float) and seconds > 0:
            retry_after = float(seconds)
    return error_class(code, reason)(code, reason, message, status, retry_after=retry_after)
