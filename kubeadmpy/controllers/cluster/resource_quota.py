"""The resourcequota controller: each quota's status.hard and status.used, recomputed.

Admission charges creates to status.used as they happen (kubeadmpy.security.
resource_quota_admission); only this controller gives usage back. It recomputes a quota from
scratch when the quota is new or its spec.hard changed, when a pod in its namespace is deleted
or finishes (Succeeded/Failed pods no longer count), and every `sync_period` seconds (upstream's
--resource-quota-sync-period, 5 minutes), which also corrects a charge whose create then failed.
It is not triggered by its own or admission's status writes, nor by new pods: a recount from a
cache that has not seen a just-admitted pod yet would hand its charge back (upstream avoids the
same race the same way). Pods are counted from the informer; other kinds are listed from the
API server when a quota names them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from kubeadmpy.client import Controller, Request, Result, errors
from kubeadmpy.client.informer import EventHandler
from kubeadmpy.controllers.cluster.common import (
    JSONObject,
    meta,
    namespace_of,
    spec,
    status,
    writable,
)
from kubeadmpy.controllers.registry import ControllerContext
from kubeadmpy.security import resource_quota

log = logging.getLogger(__name__)
NAME = "resourcequota-controller"
SYNC_PERIOD = 300.0  # --resource-quota-sync-period's default

# the kinds a quota can count, by the names quotas use for them: (resource, group)
_LISTED = {"services": ("services", ""), "persistentvolumeclaims": ("persistentvolumeclaims", ""),
           "configmaps": ("configmaps", ""), "secrets": ("secrets", ""),
           "replicationcontrollers": ("replicationcontrollers", ""),
           "resourcequotas": ("resourcequotas", "")}


FREED_ON_DELETE = ("services", "persistentvolumeclaims")


def frees(resource: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether an update lowers anything the object charges (a NodePort Service turned
    ClusterIP); admission charges increases, only a recount gives decreases back."""
    before = resource_quota.usage_of(resource, "", old)
    after = resource_quota.usage_of(resource, "", new)
    return any(after.get(name, Decimal(0)) < amount for name, amount in before.items())


def kind_of(resource_name: str) -> tuple[str, str] | None:
    """The (resource, group) whose objects a quota resource name counts, pods aside."""
    if resource_name.startswith("count/"):
        resource, _, group = resource_name[len("count/"):].partition(".")
        return resource, group
    if resource_name in _LISTED:
        return _LISTED[resource_name]
    if resource_name.startswith("services."):
        return "services", ""
    if resource_name == "requests.storage" or \
            resource_quota.STORAGE_CLASS_SUFFIX in resource_name:
        return "persistentvolumeclaims", ""
    return None


def total_usage(hard: Mapping[str, Any], objects: Mapping[tuple[str, str], list[JSONObject]],
                quota: Mapping[str, Any], now: float | None = None) -> dict[str, str]:
    """status.used for `hard`, from every object of the kinds it names (zero included);
    `now` (epoch seconds) leaves out pods stuck terminating past their grace period."""
    sums: dict[str, Decimal] = {name: Decimal(0) for name in hard}
    for (resource, group), items in objects.items():
        names = resource_quota.tracked(resource, group, hard)
        for obj in items:
            if not resource_quota.matches(quota, resource, group, obj):
                continue
            usage = resource_quota.usage_of(resource, group, obj, now)
            for name in names:
                sums[name] += usage.get(name, Decimal(0))
    return {name: resource_quota.add(None, amount, hard[name]) for name, amount in sums.items()}


class ResourceQuotaController:
    def __init__(self, ctx: ControllerContext, sync_period: float = SYNC_PERIOD) -> None:
        self.client = ctx.client
        self.sync_period = sync_period
        self.clock = ctx.clock
        self.quotas = ctx.informers.informer("resourcequotas")
        self.pods = ctx.informers.informer("pods")
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock)
        self.controller.watch(self.quotas, _needs_recount)
        self.controller.watch(self.pods, self._quotas_freed_by)
        # The mapper above sees a deleted pod's last state, which looks like a live one; a
        # deletion always frees its charge, so it enqueues on its own.
        self.pods.add_handler(EventHandler(on_delete=self._recount_namespace))
        # Services and claims give their charge back when deleted (or, for a Service, when an
        # update frees node ports or a load balancer), as upstream's replenishment does;
        # without this a namespace at its limit waited for the periodic sync.
        for resource in FREED_ON_DELETE:
            ctx.informers.informer(resource).add_handler(EventHandler(
                on_update=functools.partial(self._freed_by_update, resource),
                on_delete=self._recount_namespace))

    async def run(self) -> None:
        await self.controller.run()

    def _namespace_quotas(self, namespace: str) -> list[Request]:
        return [Request.of(q) for q in self.quotas.store.list(namespace)]

    def _quotas_freed_by(self, pod: JSONObject) -> list[Request]:
        finished = status(pod).get("phase") in resource_quota.TERMINAL_PHASES
        if finished or meta(pod).get("deletionTimestamp"):
            return self._namespace_quotas(namespace_of(pod))
        return []

    def _recount_namespace(self, obj: JSONObject) -> None:
        for request in self._namespace_quotas(namespace_of(obj)):
            self.controller.queue.add(request)

    def _freed_by_update(self, resource: str, old: JSONObject, new: JSONObject) -> None:
        if frees(resource, old, new):
            self._recount_namespace(new)

    async def reconcile(self, request: Request) -> Result | None:
        quota = self.quotas.store.get(request.key)
        if quota is None:
            return None
        hard = dict(spec(quota).get("hard") or {})
        objects: dict[tuple[str, str], list[JSONObject]] = {}
        for name in hard:
            if name in resource_quota.POD_RESOURCES:
                objects[("pods", "")] = self.pods.store.list(request.namespace)
                continue
            kind = kind_of(name)
            if kind is not None and kind not in objects:
                objects[kind] = await self._list(kind, request.namespace)
        used = total_usage(hard, objects, quota, self.clock.wall().timestamp())
        current = status(quota)
        if current.get("hard") != hard or current.get("used") != used:
            updated = writable(quota)
            updated["status"] = {"hard": hard, "used": used}
            try:
                await self.client.update_status("resourcequotas", updated, request.namespace)
            except errors.Conflict:
                # admission charged it meanwhile: count again once the informer has the newer
                # quota (shortly; not a spin on the copy that just lost)
                return Result(requeue_after=0.2)
        return Result(requeue_after=self.sync_period)

    async def _list(self, kind: tuple[str, str], namespace: str) -> list[JSONObject]:
        resource, group = kind
        ref = f"{resource}.{group}" if group else resource
        try:
            return (await self.client.list_all(ref, namespace)).items
        except errors.ClientError as exc:  # an unknown kind counts as none, as upstream
            log.info("resource quota in %s: cannot list %s: %s", namespace, ref, exc)
            return []


def _needs_recount(quota: JSONObject) -> list[Request]:
    """A new quota, or one whose limits changed; never its own status writes."""
    if status(quota).get("hard") != (spec(quota).get("hard") or {}) or \
            "used" not in status(quota):
        return [Request.of(quota)]
    return []


def new_controller(ctx: ControllerContext) -> ResourceQuotaController:
    return ResourceQuotaController(ctx)
