"""The CRI v1 client of kubeadmpy (used by the kubelet and the containerd set-up).

Public names: `CRIClient`, `wait_for_runtime`, `ExecResult`, the error classes, the generated
``runtime.v1`` messages as `api`, CRI log files (`parse_log_line`, `read_log`), `remove_all_pods` for reset, and
`ensure_containerd` for the init workflow's containerd phase.
The throw-away runtime for tests and benchmarks is `kubeadmpy.cri.scratch.ScratchContainerd`.
"""

from __future__ import annotations

from cri_api.v1 import api_pb2 as api

from kubeadmpy.cri.cleanup import RemovalReport, remove_all_pods
from kubeadmpy.cri.client import (
    DEFAULT_ENDPOINT,
    CRIClient,
    ExecResult,
    grpc_target,
    wait_for_runtime,
)
from kubeadmpy.cri.containerd_setup import (
    ContainerdStartError,
    ContainerdStatus,
    containerd_values,
    ensure_containerd,
    ensure_containerd_async,
    stop_containerd,
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
from kubeadmpy.cri.logs import LogFormatError, LogLine, parse_log_line, read_log

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
    "ContainerdStartError",
    "ContainerdStatus",
    "ExecResult",
    "LogFormatError",
    "LogLine",
    "RemovalReport",
    "api",
    "containerd_values",
    "ensure_containerd",
    "ensure_containerd_async",
    "grpc_target",
    "parse_log_line",
    "read_log",
    "remove_all_pods",
    "stop_containerd",
    "wait_for_runtime",
]
