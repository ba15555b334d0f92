"""Choosing the probe manager: kubeadmpy.kubelet.probes.ProbeManager when it is installed,
otherwise `ProbeFallback`, which treats a running container as started and ready (what
upstream does for containers without probes).

The probe package is built separately (its own owner); keeping this seam lets the core kubelet
run and be tested on its own, and states in one place what the core expects from it.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from kubeadmpy.client import Clock
from kubeadmpy.cri import CRIClient

log = logging.getLogger(__name__)


class ProbeFallback:
    """No probing: running means started and ready."""

    def add_pod(self, pod: dict[str, Any], container_ids: dict[str, str], pod_ip: str) -> None:
        pass

    def remove_pod(self, uid: str) -> None:
        pass

    def container_started(self, uid: str, name: str, container_id: str,
                          started_at: float | None) -> None:
        pass

    def is_ready(self, uid: str, name: str) -> bool:
        return True

    def is_started(self, uid: str, name: str) -> bool:
        return True


def make_probe_manager(cri: CRIClient, clock: Clock) -> Any:
    try:
        module = importlib.import_module("kubeadmpy.kubelet.probes")
        manager_class = module.ProbeManager
    except (ImportError, AttributeError):
        log.warning("kubeadmpy.kubelet.probes is not available: probes are not run")
        return ProbeFallback()
    return manager_class(cri, clock)
