"""NamespaceLifecycle admission: no new content in missing or terminating namespaces.

As upstream: creating a namespaced object in a namespace that does not exist is 404 NotFound,
in one that is being deleted 403 Forbidden; the system namespaces may never be deleted. Other
operations pass (they act on content that already exists and is being cleaned up).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubeadmpy.security.node_restriction import AdmissionDenied, AdmissionRequest

# upstream's set; kube-node-lease is not in it (kube-apiserver recreates it if deleted)
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
# review-like resources are answered, not stored, so a terminating namespace does not matter
EXEMPT_RESOURCES = frozenset({("authorization.k8s.io", "localsubjectaccessreviews")})

NamespaceGetter = Callable[[str], Mapping[str, Any] | None]


@dataclass
class NamespaceLifecycle:
    get_namespace: NamespaceGetter

    def admit(self, request: AdmissionRequest) -> None:
        if request.api_group == "" and request.resource == "namespaces":
            if request.operation == "DELETE" and request.name in IMMORTAL_NAMESPACES:
                raise AdmissionDenied(f'namespaces "{request.name}" is forbidden: this '
                                      "namespace may not be deleted")
            return
        if request.operation != "CREATE" or not request.namespace or request.subresource:
            return
        if (request.api_group, request.resource) in EXEMPT_RESOURCES:
            return
        namespace = self.get_namespace(request.namespace)
        if namespace is None:
            raise AdmissionDenied(f'namespaces "{request.namespace}" not found', code=404)
        terminating = (namespace.get("metadata") or {}).get("deletionTimestamp") or \
            (namespace.get("status") or {}).get("phase") == "Terminating"
        if terminating:
            raise AdmissionDenied(f"unable to create new content in namespace "
                                  f"{request.namespace} because it is being terminated")
