"""Wiring kubeadmpy.security (authentication, RBAC/Node authorization, reviews, TokenRequest)
into the server: the stack is built from the upstream flags, reads objects from the watch
caches, learns RBAC objects from their caches as they change, and the default policy
(system:* roles and bindings) is reconciled into etcd at start-up, as kube-apiserver does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from kubeadmpy.apiserver import writes
from kubeadmpy.apiserver.settings import Settings
from kubeadmpy.apiserver.storage import Storage
from kubeadmpy.apiserver.watchcache import CacheEvent, WatchCache
from kubeadmpy.machinery import status
from kubeadmpy.machinery.registry import JSONObject, ResourceRegistry, ResourceSpec
from kubeadmpy.security.authn import AuthResult, Credentials
from kubeadmpy.security.escalation import EscalationForbidden
from kubeadmpy.security.identity import UserInfo
from kubeadmpy.security.node_graph import PodIndex
from kubeadmpy.security.node_restriction import AdmissionDenied, AdmissionRequest
from kubeadmpy.security.reconcile import reconcile_bootstrap_policy_async
from kubeadmpy.security.resource_quota_admission import ResourceQuotaAdmission, StatusMutation
from kubeadmpy.security.stack import SecuritySettings, SecurityStack, build_stack

log = logging.getLogger(__name__)

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_KINDS = {"Role": "roles", "ClusterRole": "clusterroles", "RoleBinding": "rolebindings",
              "ClusterRoleBinding": "clusterrolebindings"}


class CacheObjects:
    """`ClusterObjects` for the security stack, answered from the watch caches."""

    def __init__(self, registry: ResourceRegistry, caches: dict[ResourceSpec, WatchCache]
                 ) -> None:
        self._by_plural: dict[str, WatchCache] = {}
        for spec, cache in caches.items():
            self._by_plural.setdefault(spec.plural, cache)
        self.registry = registry
        # The Node authorizer asks for a node's pods on every kubelet request: index them.
        self.pod_index = PodIndex()
        pods = self._by_plural.get("pods")
        if pods is not None:
            _feed_pod_index(self.pod_index, pods)

    def get(self, resource: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        cache = self._by_plural.get(resource)
        if cache is None:
            return None
        return cache.objects.get(cache.spec.key(namespace, name))

    def pods_on_node(self, node_name: str) -> Iterable[Mapping[str, Any]]:
        return self.pod_index.pods_on_node(node_name)

    def list(self, resource: str) -> Iterable[Mapping[str, Any]]:
        cache = self._by_plural.get(resource)
        return list(cache.objects.values()) if cache is not None else []


def _feed_pod_index(index: PodIndex, cache: WatchCache) -> None:
    def changed(event: CacheEvent) -> None:
        if event.type == "DELETED":
            meta = event.obj.get("metadata", {})
            index.delete(str(meta.get("namespace", "")), str(meta.get("name", "")))
        else:
            index.apply(event.obj)

    cache.on_reset = index.replace
    cache.on_event = changed
    index.replace(list(cache.objects.values()))


def security_settings(settings: Settings) -> SecuritySettings:
    flags: dict[str, Any] = dict(settings.security_flags)
    flags["client-ca-file"] = settings.client_ca_file
    return SecuritySettings.from_flags(flags)


def build(settings: Settings, registry: ResourceRegistry,
          caches: dict[ResourceSpec, WatchCache]) -> SecurityStack:
    """The stack; raises UserInputError/ConfigError/PKIError before anything is served."""
    stack = build_stack(security_settings(settings), CacheObjects(registry, caches))
    for kind, plural in RBAC_KINDS.items():
        spec = registry.lookup(RBAC_GROUP, "v1", plural)
        if spec is not None:
            _feed_rbac(stack, caches[spec], kind)
    return stack


def _feed_rbac(stack: SecurityStack, cache: WatchCache, kind: str) -> None:
    """Keep the authorizer's copy of one RBAC kind equal to the cache's, also across relists
    (`replace_kind` drops objects deleted while the watch was down, so they stop granting)."""

    def reset(objects: list[JSONObject]) -> None:
        stack.rbac.replace_kind(kind, objects)

    def changed(event: CacheEvent) -> None:
        if event.type == "DELETED":
            meta = event.obj.get("metadata", {})
            stack.rbac.delete(kind, str(meta.get("namespace", "")), str(meta.get("name", "")))
        else:
            stack.rbac.apply({**event.obj, "kind": kind})

    cache.on_reset = reset
    cache.on_event = changed


async def reconcile_default_policy(registry: ResourceRegistry, storage: Storage) -> None:
    """Create or update the system:* roles and bindings (idempotent; a restart writes nothing)."""
    def spec_of(kind: str) -> ResourceSpec:
        spec = registry.lookup(RBAC_GROUP, "v1", RBAC_KINDS[kind])
        assert spec is not None
        return spec

    async def get(kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        try:
            return await storage.get(spec_of(kind), namespace, name)
        except status.APIStatusError as exc:
            if exc.code == 404:
                return None
            raise

    async def create(obj: Mapping[str, Any]) -> None:
        spec = spec_of(str(obj["kind"]))
        body = writes.check_kind(spec, dict(obj))
        prepared = writes.prepare_create(spec, body, body["metadata"].get("namespace", ""))
        try:
            await storage.create(spec, prepared)
        except status.APIStatusError as exc:
            if exc.code != 409:  # another apiserver made it first
                raise

    async def update(obj: Mapping[str, Any]) -> None:
        spec = spec_of(str(obj["kind"]))
        meta = obj["metadata"]

        async def mutate(current: JSONObject) -> JSONObject | None:
            desired = writes.check_kind(spec, {**dict(obj), "metadata": {
                **current["metadata"], "labels": meta.get("labels"),
                "annotations": meta.get("annotations")}})
            desired["metadata"].pop("resourceVersion", None)
            return writes.prepare_update(spec, desired, current)

        await storage.update(spec, meta.get("namespace", ""), meta["name"], mutate)

    report = await reconcile_bootstrap_policy_async(get, create, update)
    log.info("default RBAC policy reconciled: %d created, %d updated, %d left as they are",
             len(report.created), len(report.updated), len(report.protected))


def admit(stack: SecurityStack, request: web.Request, operation: str, spec: ResourceSpec, *,
          namespace: str, name: str, obj: JSONObject | None, old: JSONObject | None = None,
          subresource: str = "") -> JSONObject | None:
    """Run the enabled admission plugins (and RBAC's escalation check on role and binding
    writes); returns the object to store, mutated if a plugin did so."""
    user = request["user"]
    try:
        admitted = stack.admit(AdmissionRequest(user, operation, spec.plural, subresource,
                                                spec.group, namespace, name, obj, old))
        if spec.group == RBAC_GROUP and operation in ("CREATE", "UPDATE") and obj is not None:
            stack.check_rbac_write(user, obj)
    except AdmissionDenied as exc:
        raise status.APIStatusError(exc.code, "NotFound" if exc.code == 404 else "Forbidden",
                                    str(exc)) from exc
    except EscalationForbidden as exc:
        raise status.forbidden(str(exc)) from exc
    if admitted is None or admitted is obj:
        return obj
    return dict(admitted)


class QuotaStatusInStorage:
    """ResourceQuota admission's compare-and-swap of quota status, through etcd storage."""

    def __init__(self, storage: Storage, spec: ResourceSpec) -> None:
        self.storage = storage
        self.spec = spec

    async def update(self, namespace: str, name: str, mutate: StatusMutation) -> None:
        async def apply(current: JSONObject) -> JSONObject | None:
            return mutate(current)

        try:
            await self.storage.update(self.spec, namespace, name, apply)
        except status.APIStatusError as exc:
            if exc.code != 404:  # a quota deleted meanwhile limits nothing any more
                raise


async def charge_quota(stack: SecurityStack, storage: Storage, registry: ResourceRegistry,
                       request: web.Request, spec: ResourceSpec, *, namespace: str,
                       obj: JSONObject, dry_run: bool, old: JSONObject | None = None,
                       subresource: str = "") -> None:
    """ResourceQuota's part of admission, after the synchronous chain: refuse a write that
    would pass a quota, else charge it to the quotas' status before it is stored (`old`:
    the stored object of an update, which pays only what it adds)."""
    quotas = registry.lookup("", "v1", "resourcequotas")
    for plugin in stack.admission:
        if not isinstance(plugin, ResourceQuotaAdmission) or quotas is None:
            continue
        admission = AdmissionRequest(request["user"], "UPDATE" if old is not None else
                                     "CREATE", spec.plural, subresource, spec.group, namespace,
                                     obj["metadata"].get("name", ""), obj, old)
        try:
            await plugin.evaluate(admission, QuotaStatusInStorage(storage, quotas),
                                  dry_run=dry_run)
        except AdmissionDenied as exc:
            raise status.forbidden(str(exc)) from exc


CSR_GROUP = "certificates.k8s.io"


def record_requester(spec: ResourceSpec, obj: JSONObject, user: UserInfo) -> None:
    """A new CSR names who asked for it, from the authenticated user and never from the body
    (as upstream's CSR strategy): approvers and signers trust these fields."""
    if spec.group != CSR_GROUP or spec.plural != "certificatesigningrequests":
        return
    csr_spec = obj.get("spec")
    if not isinstance(csr_spec, dict):
        return
    for key in ("username", "uid", "groups", "extra"):
        csr_spec.pop(key, None)
    if user.name:
        csr_spec["username"] = user.name
    if user.uid:
        csr_spec["uid"] = user.uid
    if user.groups:
        csr_spec["groups"] = list(user.groups)
    if user.extra:
        csr_spec["extra"] = {key: list(values) for key, values in user.extra.items()}


class CertificateAuthCache:
    """Remembers successful client-certificate authentications for a few seconds.

    Verifying a certificate chain costs ~150 µs per request (more than everything else the
    server does for a GET); the TLS handshake has already verified it once. Only certificate-
    only credentials are cached, and only briefly, so an expiring certificate stops working
    within `ttl_seconds`; bearer tokens are always checked (their secrets may be deleted).
    """

    def __init__(self, stack: SecurityStack, ttl_seconds: float = 10.0, size: int = 4096
                 ) -> None:
        self.stack = stack
        self.ttl = ttl_seconds
        self.size = size
        self._entries: dict[bytes, tuple[AuthResult, float]] = {}

    def authenticate(self, credentials: Credentials) -> AuthResult:
        der = credentials.client_cert_der
        if der is None or credentials.authorization:
            return self.stack.authenticate(credentials)
        now = time.monotonic()
        hit = self._entries.get(der)
        if hit is not None and hit[1] > now:
            return hit[0]
        result = self.stack.authenticate(credentials)
        if result.user is not None:
            if len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[der] = (result, now + self.ttl)
        return result
