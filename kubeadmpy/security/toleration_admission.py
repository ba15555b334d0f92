"""DefaultTolerationSeconds admission: new pods tolerate not-ready and unreachable nodes for
300 s, as upstream, so the taint-based eviction of a failed node gives them five minutes.

A pod that already tolerates one of those NoExecute taints (same key, or an `Exists` toleration
with no key, with effect NoExecute or none) keeps its own toleration for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeadmpy.security.node_restriction import AdmissionRequest

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300  # --default-{not-ready,unreachable}-toleration-seconds


def _tolerates(tolerations: list[Any], taint_key: str) -> bool:
    for toleration in tolerations:
        if not isinstance(toleration, Mapping):
            continue
        key = toleration.get("key") or ""
        matches_key = key == taint_key or (not key and toleration.get("operator") == "Exists")
        if matches_key and (toleration.get("effect") or "NoExecute") == "NoExecute":
            return True
    return False


@dataclass
class DefaultTolerationSeconds:
    not_ready_seconds: int = DEFAULT_TOLERATION_SECONDS
    unreachable_seconds: int = DEFAULT_TOLERATION_SECONDS

    def admit(self, request: AdmissionRequest) -> dict[str, Any] | None:
        if (request.api_group, request.resource, request.subresource, request.operation) != \
                ("", "pods", "", "CREATE") or request.obj is None:
            return None
        spec = request.obj.get("spec")
        if not isinstance(spec, Mapping):
            return None
        tolerations = spec.get("tolerations") or []
        if not isinstance(tolerations, list):
            return None  # validation names the bad field
        missing = [(key, seconds) for key, seconds in (
            (NOT_READY_TAINT, self.not_ready_seconds),
            (UNREACHABLE_TAINT, self.unreachable_seconds)) if not _tolerates(tolerations, key)]
        if not missing:
            return None
        # Copy only what changes (pod and spec): a deep copy cost more than the whole plugin.
        pod: dict[str, Any] = {**request.obj, "spec": {**spec}}
        pod["spec"]["tolerations"] = list(tolerations) + [
            {"key": key, "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": seconds} for key, seconds in missing]
        return pod
