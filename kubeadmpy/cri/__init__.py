"""The CRI v1 client of kubeadmpy (used by the kubelet and the containerd set-up).

Public names: `CRIClient`, `wait_for_runtime`, `ExecResult`, the error classes, the generated
``runtime.v1`` messages as `api`, helpers for CRI log files (`parse_log_line`), and
`ensure_containerd` for the init workflow's containerd phase.
"""

from __future__ import annotations

from cri_api.v1 import api_pb2 as api

from kubeadmpy.cri.client import (
    DEFAULT_ENDPOINT,
    CRIClient,
    ExecResult,
    grpc_target,
    wait_for_runtime,
)
from kubeadmpy.cri.errors import (
    CRIAlreadyExists,
    CRIDeadlineExceeded,
    CRIError,
    CRIFailed,
    CRIInvalidArgument,
    CRINotFound,
    CRIUnavailable,
    CRIUnimplemented,
)

__all__ = [
    "DEFAULT_ENDPOINT",
    "CRIAlreadyExists",
    "CRIClient",
    "CRIDeadlineExceeded",
    "CRIError",
    "CRIFailed",
    "CRIInvalidArgument",
    "CRINotFound",
    "CRIUnavailable",
    "CRIUnimplemented",
    "ExecResult",
    "api",
    "grpc_target",
    "wait_for_runtime",
]
