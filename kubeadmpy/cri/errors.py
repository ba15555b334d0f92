"""The one adapter from gRPC failures to kubeadmpy's CRI errors.

Callers (the kubelet's pod workers, `ensure_containerd`, tests) decide by type: NotFound means
"already gone" during teardown, Unavailable/DeadlineExceeded mean "retry later", everything else
is a bug or a bad request. No grpc type leaks past this module.
"""

from __future__ import annotations

import grpc

from kubeadmpy.errors import KubeadmpyError


class CRIError(KubeadmpyError):
    """A CRI call failed; `method` is the RPC name, `code` the gRPC status name."""

    retryable = False

    def __init__(self, method: str, code: str, detail: str) -> None:
        self.method = method
        self.code = code
        self.detail = detail
        super().__init__(f"CRI {method}: {code}: {detail}")


class CRINotFound(CRIError):
    """The sandbox, container or image does not exist (any more)."""


class CRIAlreadyExists(CRIError):
    """A sandbox or container of that name exists already."""


class CRIInvalidArgument(CRIError):
    """The runtime rejected the request's fields."""


class CRIUnavailable(CRIError):
    """The runtime's socket does not answer (not started, restarting)."""

    retryable = True


class CRIDeadlineExceeded(CRIError):
    """The call did not finish within its timeout."""

    retryable = True


class CRIUnimplemented(CRIError):
    """The runtime does not know this RPC (an older CRI, or the CRI plugin disabled)."""


class CRIFailed(CRIError):
    """Any other runtime error (Unknown, Internal, FailedPrecondition, ...)."""


_BY_CODE: dict[grpc.StatusCode, type[CRIError]] = {
    grpc.StatusCode.NOT_FOUND: CRINotFound,
    grpc.StatusCode.ALREADY_EXISTS: CRIAlreadyExists,
    grpc.StatusCode.INVALID_ARGUMENT: CRIInvalidArgument,
    grpc.StatusCode.UNAVAILABLE: CRIUnavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: CRIDeadlineExceeded,
    grpc.StatusCode.UNIMPLEMENTED: CRIUnimplemented,
}


def translate(method: str, exc: grpc.aio.AioRpcError) -> CRIError:
    """The CRIError for a failed call of `method`."""
    code = exc.code()
    kind = _BY_CODE.get(code, CRIFailed)
    return kind(method, code.name if code is not None else "UNKNOWN", exc.details() or "")
