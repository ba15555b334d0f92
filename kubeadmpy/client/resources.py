"""Which URL serves a kind: a static table for the built-in kinds, discovery for the rest.

Components mostly use built-in kinds whose paths never change, so those resolve without a round
trip. Anything else (CRDs, aggregated APIs, other versions) is looked up through discovery —
aggregated (`/api` + `/apis` with the apidiscovery Accept) when the server offers it, else the
legacy per-group-version lists — exactly as kubectl would find it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class ResourceInfo:
    """One REST resource: `apps/v1` `deployments` (kind Deployment), namespaced or not."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """`deployments.apps`, or `pods` for the core group."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def collection_path(self, namespace: str | None = None) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{root}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{root}/{self.plural}"

    def object_path(self, name: str, namespace: str | None = None,
                    subresource: str = "") -> str:
        path = f"{self.collection_path(namespace)}/{quote(name, safe='')}"
        return f"{path}/{subresource}" if subresource else path


def _r(api_version: str, plural: str, kind: str, namespaced: bool = True,
       *short: str) -> ResourceInfo:
    group, _, version = api_version.rpartition("/")
    return ResourceInfo(group, version, plural, kind, namespaced, kind.lower(), short)


BUILTIN: tuple[ResourceInfo, ...] = (
    _r("v1", "pods", "Pod", True, "po"),
    _r("v1", "services", "Service", True, "svc"),
    _r("v1", "endpoints", "Endpoints", True, "ep"),
    _r("v1", "nodes", "Node", False, "no"),
    _r("v1", "namespaces", "Namespace", False, "ns"),
    _r("v1", "configmaps", "ConfigMap", True, "cm"),
    _r("v1", "secrets", "Secret", True),
    _r("v1", "serviceaccounts", "ServiceAccount", True, "sa"),
    _r("v1", "events", "Event", True, "ev"),
    _r("v1", "persistentvolumes", "PersistentVolume", False, "pv"),
    _r("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, "pvc"),
    _r("v1", "replicationcontrollers", "ReplicationController", True, "rc"),
    _r("v1", "resourcequotas", "ResourceQuota", True, "quota"),
    _r("v1", "limitranges", "LimitRange", True, "limits"),
    _r("apps/v1", "deployments", "Deployment", True, "deploy"),
    _r("apps/v1", "replicasets", "ReplicaSet", True, "rs"),
    _r("apps/v1", "daemonsets", "DaemonSet", True, "ds"),
    _r("apps/v1", "statefulsets", "StatefulSet", True, "sts"),
    _r("apps/v1", "controllerrevisions", "ControllerRevision", True),
    _r("batch/v1", "jobs", "Job", True),
    _r("batch/v1", "cronjobs", "CronJob", True, "cj"),
    _r("coordination.k8s.io/v1", "leases", "Lease", True),
    _r("discovery.k8s.io/v1", "endpointslices", "EndpointSlice", True),
    _r("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True, "pdb"),
    _r("rbac.authorization.k8s.io/v1", "roles", "Role", True),
    _r("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", True),
    _r("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _r("certificates.k8s.io/v1", "certificatesigningrequests", "CertificateSigningRequest",
       False, "csr"),
    _r("storage.k8s.io/v1", "storageclasses", "StorageClass", False, "sc"),
    _r("scheduling.k8s.io/v1", "priorityclasses", "PriorityClass", False, "pc"),
    _r("events.k8s.io/v1", "events", "Event", True, "ev"),
)  # fmt: skip


def builtin_lookup(ref: str) -> ResourceInfo | None:
    """Resolve `pods`, `pod`, `po`, `Pod`, `deployments.apps`, `apps/v1/Deployment` or
    `apps/v1/deployments` from the static table; None if it is not a built-in kind."""
    if ref.count("/") >= 1:
        api_version, _, name = ref.rpartition("/")
        for info in BUILTIN:
            if info.api_version == api_version and name in (info.kind, info.plural):
                return info
        return None
    name, _, group = ref.partition(".")
    for info in BUILTIN:
        if group and info.group != group:
            continue
        if not group and info.group == "events.k8s.io":
            continue  # "events" alone means the core kind, as in kubectl
        if name in (info.plural, info.kind, info.singular, *info.short_names):
            return info
    return None


def from_discovery(group: str, version: str, entry: dict[str, object]) -> ResourceInfo | None:
    """A ResourceInfo from a legacy APIResource row (subresource rows are skipped)."""
    name = str(entry.get("name", ""))
    if not name or "/" in name:
        return None
    shorts = entry.get("shortNames")
    return ResourceInfo(group, version, name, str(entry.get("kind", "")),
                        bool(entry.get("namespaced", False)), str(entry.get("singularName", "")),
                        tuple(str(s) for s in shorts) if isinstance(shorts, list) else ())


def from_aggregated(group: str, version: str, entry: dict[str, object]) -> ResourceInfo | None:
    """A ResourceInfo from an aggregated-discovery (apidiscovery v2/v2beta1) resource."""
    name = str(entry.get("resource", ""))
    kind_ref = entry.get("responseKind")
    kind = str(kind_ref.get("kind", "")) if isinstance(kind_ref, dict) else ""
    if not name:
        return None
    shorts = entry.get("shortNames")
    return ResourceInfo(group, version, name, kind, entry.get("scope") == "Namespaced",
                        str(entry.get("singularResource", "")),
                        tuple(str(s) for s in shorts) if isinstance(shorts, list) else ())
