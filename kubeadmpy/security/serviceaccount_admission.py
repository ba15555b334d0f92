"""ServiceAccount admission: every pod runs as a service account and gets its token projected.

For a pod being created (mirror pods excepted): spec.serviceAccountName defaults to "default"
and the account must exist; unless automountServiceAccountToken is false (on the pod, else on
the account), a projected volume `kube-api-access-<suffix>` (bound token of 3607 s, the
kube-root-ca.crt ConfigMap's ca.crt, the namespace from the downward API) is added and mounted
read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container and init
container that does not mount something there already. The account's imagePullSecrets are
copied when the pod names none. The result is a new pod dict; the input is not changed.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubeadmpy.security.node_graph import is_mirror_pod
from kubeadmpy.security.node_restriction import AdmissionDenied, AdmissionRequest

MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_SECONDS = 3607  # upstream: an hour plus seven seconds, so kubelets refresh in time
VOLUME_PREFIX = "kube-api-access-"
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # upstream's utilrand alphabet

ServiceAccountGetter = Callable[[str, str], Mapping[str, Any] | None]


def token_volume(name: str) -> dict[str, Any]:
    return {"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_SECONDS, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt",
                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}


def _suffix() -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))


@dataclass
class ServiceAccountAdmission:
    get_service_account: ServiceAccountGetter

    def admit(self, request: AdmissionRequest) -> dict[str, Any] | None:
        """The pod to store (with defaults and the token volume), or None if not a pod create."""
        if (request.api_group, request.resource, request.subresource, request.operation) != \
                ("", "pods", "", "CREATE") or request.obj is None:
            return None
        pod: dict[str, Any] = copy.deepcopy(dict(request.obj))
        spec = pod.setdefault("spec", {})
        if is_mirror_pod(pod):
            if spec.get("serviceAccountName"):
                raise AdmissionDenied("a mirror pod may not reference service accounts")
            return pod
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        spec["serviceAccountName"] = name
        account = self.get_service_account(request.namespace, str(name))
        if account is None:
            raise AdmissionDenied(f"error looking up service account {request.namespace}/"
                                  f'{name}: serviceaccount "{name}" not found')
        automount = spec.get("automountServiceAccountToken")
        if automount is None:
            automount = account.get("automountServiceAccountToken", True)
        if automount is not False:
            self._mount_token(spec)
        if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
            spec["imagePullSecrets"] = copy.deepcopy(account["imagePullSecrets"])
        return pod

    def _mount_token(self, spec: dict[str, Any]) -> None:
        containers = [c for key in ("initContainers", "containers")
                      for c in spec.get(key) or [] if isinstance(c, dict)]
        needing = [c for c in containers
                   if not any(m.get("mountPath") == MOUNT_PATH for m in c.get("volumeMounts")
                              or [])]
        if not needing:
            return
        volumes = spec.setdefault("volumes", [])
        existing = {v.get("name") for v in volumes}
        volume_name = VOLUME_PREFIX + _suffix()
        while volume_name in existing:
            volume_name = VOLUME_PREFIX + _suffix()
        volumes.append(token_volume(volume_name))
        for container in needing:
            container.setdefault("volumeMounts", []).append(
                {"name": volume_name, "readOnly": True, "mountPath": MOUNT_PATH})
