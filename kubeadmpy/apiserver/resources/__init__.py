"""The resource table the apiserver serves: every entry is a `ResourceSpec` + its strategy."""

from __future__ import annotations

from kubeadmpy.apiserver.resources.cluster import CLUSTER
from kubeadmpy.apiserver.resources.core import CORE
from kubeadmpy.apiserver.resources.limits import LIMITS
from kubeadmpy.apiserver.resources.scheduling import SCHEDULING
from kubeadmpy.apiserver.resources.workloads import WORKLOADS
from kubeadmpy.machinery.registry import ResourceRegistry


def build_registry() -> ResourceRegistry:
    return ResourceRegistry((*CORE, *LIMITS, *WORKLOADS, *CLUSTER, *SCHEDULING))


__all__ = ["build_registry"]
