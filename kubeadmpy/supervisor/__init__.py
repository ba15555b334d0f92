"""Run node daemons (containerd, the kubelet) without systemd: pid files, logs, stop, status.

Public names: `Supervisor`, `ProcessSpec`, `ProcessStatus`, `SupervisorError`, `systemd_is_init`.
"""

from __future__ import annotations

from pathlib import Path

from kubeadmpy.supervisor.supervisor import (
    ProcessSpec,
    ProcessStatus,
    Supervisor,
    SupervisorError,
)

__all__ = ["ProcessSpec", "ProcessStatus", "Supervisor", "SupervisorError", "systemd_is_init"]


def systemd_is_init(run_dir: Path = Path("/run/systemd/system")) -> bool:
    """True when systemd is PID 1 (its documented test: /run/systemd/system exists)."""
    return run_dir.is_dir()
