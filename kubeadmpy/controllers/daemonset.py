"""The DaemonSet controller: one pod on every node the DaemonSet's pods may run on.

As upstream (since 1.12) the controller does not pick nodeName itself: each pod it creates
carries a required node affinity on `metadata.name` (matchFields) for its node, and the
scheduler binds it. A node is eligible when the pod's nodeSelector and required node affinity
match it and every NoSchedule/NoExecute taint is tolerated — the DaemonSet pods get upstream's
automatic tolerations (not-ready/unreachable NoExecute, disk/memory/pid-pressure and
unschedulable NoSchedule, network-unavailable for hostNetwork), so cordoned nodes still run
them. A pod whose node became ineligible stays unless an untolerated NoExecute taint or a label
change evicts it. Template versions are ControllerRevisions (`<ds>-<hash>`), pods carry
`controller-revision-hash` and `pod-template-generation`; RollingUpdate replaces old pods while
at most maxUnavailable (default 1) nodes lack an available pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Mapping
from typing import Any

from kubeadmpy.client import errors
from kubeadmpy.client.controller import Controller, Request, Result
from kubeadmpy.client.informer import Informer
from kubeadmpy.client.rest import Client
from kubeadmpy.controllers import history
from kubeadmpy.controllers.common import (
    Expectations,
    JSONObject,
    int_or_percent,
    is_pod_available,
    is_pod_ready,
    meta,
    observe_into,
    owner_keys,
    parse_time,
    pod_from_template,
    template_hash,
)
from kubeadmpy.controllers.events import EventRecorder
from kubeadmpy.controllers.registry import ControllerContext
from kubeadmpy.controllers.replicaset import claim_pods
from kubeadmpy.machinery.selectors import Requirement

log = logging.getLogger(__name__)
REVISION_HASH = history.REVISION_HASH
TEMPLATE_GENERATION = "pod-template-generation"
AUTO_TOLERATIONS: tuple[JSONObject, ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
NETWORK_UNAVAILABLE = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                       "effect": "NoSchedule"}


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Upstream's ToleratesTaint: effect (empty = all), key (empty + Exists = all), value."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    operator = toleration.get("operator") or "Equal"
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    if not toleration.get("key") and operator != "Exists":
        return False
    if operator == "Exists":
        return True
    return str(toleration.get("value") or "") == str(taint.get("value") or "")


def pod_tolerations(spec: Mapping[str, Any]) -> list[JSONObject]:
    tolerations = [dict(t) for t in spec.get("tolerations") or []]
    extra = list(AUTO_TOLERATIONS)
    if spec.get("hostNetwork"):
        extra.append(NETWORK_UNAVAILABLE)
    for toleration in extra:
        if not any(t.get("key") == toleration["key"] and t.get("effect") == toleration["effect"]
                   for t in tolerations):
            tolerations.append(dict(toleration))
    return tolerations


def _term_matches(term: Mapping[str, Any], node: JSONObject) -> bool:
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists",
           "Gt": ">", "Lt": "<"}
    labels = meta(node).get("labels") or {}
    for expr in term.get("matchExpressions") or []:
        req = Requirement(str(expr["key"]), ops.get(str(expr["operator"]), "in"),
                          tuple(str(v) for v in expr.get("values") or []))
        if not req.matches(labels):
            return False
    for expr in term.get("matchFields") or []:
        if expr.get("key") == "metadata.name":
            inside = meta(node).get("name") in (expr.get("values") or [])
            if inside != (expr.get("operator") == "In"):
                return False
    return bool(term.get("matchExpressions") or term.get("matchFields"))


def node_fits(spec: Mapping[str, Any], node: JSONObject) -> tuple[bool, bool]:
    """(should run, may keep running) of a pod with `spec` on `node`."""
    labels = meta(node).get("labels") or {}
    selected = all(labels.get(k) == v for k, v in (spec.get("nodeSelector") or {}).items())
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if terms and not any(_term_matches(t, node) for t in terms):
        selected = False
    tolerations = pod_tolerations(spec)
    untolerated = [t for t in (node.get("spec") or {}).get("taints") or []
                   if t.get("effect") in ("NoSchedule", "NoExecute")
                   and not any(tolerates(tol, t) for tol in tolerations)]
    should_run = selected and not untolerated
    keep = selected and not any(t.get("effect") == "NoExecute" for t in untolerated)
    return should_run, keep


def pod_for_node(ds: JSONObject, digest: str, node_name: str) -> JSONObject:
    template = (ds.get("spec") or {}).get("template") or {}
    pod = pod_from_template(template, ds, generate_name=f"{meta(ds)['name']}-", extra_labels={
        REVISION_HASH: digest, TEMPLATE_GENERATION: str(meta(ds).get("generation", 1))})
    spec = pod["spec"]
    affinity = spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
    spec["tolerations"] = pod_tolerations(spec)
    return pod


def pod_node(pod: JSONObject) -> str:
    """The node a DaemonSet pod belongs to: its nodeName, or the name in its affinity."""
    name = (pod.get("spec") or {}).get("nodeName")
    if name:
        return str(name)
    terms = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}) \
        .get("nodeSelectorTerms") or []
    for term in terms:
        for expr in term.get("matchFields") or []:
            if expr.get("key") == "metadata.name" and expr.get("values"):
                return str(expr["values"][0])
    return ""


class DaemonSetController:
    name = "daemonset-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        self.client: Client = ctx.client
        self.daemonsets: Informer = ctx.informers.informer("daemonsets")
        self.nodes: Informer = ctx.informers.informer("nodes")
        self.pods: Informer = ctx.informers.informer("pods")
        self.revisions: Informer = ctx.informers.informer("controllerrevisions")
        self.expectations = Expectations(ctx.clock)
        self.controller = Controller(self.name, self.reconcile,
                                     workers=ctx.options.concurrent_daemonset_syncs,
                                     clock=ctx.clock)
        self.events = EventRecorder(ctx.client, self.name)
        self.controller.watch(self.daemonsets)
        self.controller.watch(self.pods, self._pod_requests)
        self.controller.watch(self.nodes, self._all)
        self.pods.add_handler(observe_into(self.expectations, "DaemonSet"))

    async def run(self) -> None:
        await self.controller.run()

    def _pod_requests(self, pod: JSONObject) -> list[Request]:
        ns = str(meta(pod).get("namespace") or "")
        return [Request(ns, k.rpartition("/")[2]) for k in owner_keys(pod, "DaemonSet")]

    def _all(self, _node: JSONObject) -> list[Request]:
        return [Request.of(ds) for ds in self.daemonsets.store.list()]

    async def reconcile(self, request: Request) -> Result | None:
        cached = self.daemonsets.store.get(request.key)
        if cached is None:
            self.expectations.forget(request.key)
            return None
        ds = copy.deepcopy(cached)
        pods = [p for p in self.pods.store.list(request.namespace)
                if not meta(p).get("deletionTimestamp")]
        if meta(ds).get("deletionTimestamp"):
            return None
        template = (ds.get("spec") or {}).get("template") or {}
        digest = template_hash(template, int((ds.get("status") or {}).get("collisionCount")
                                             or 0))
        owned = await claim_pods(self.client, ds, pods)
        by_node: dict[str, list[JSONObject]] = {}
        for pod in owned:
            by_node.setdefault(pod_node(pod), []).append(pod)
        if self.expectations.satisfied(request.key):
            await history.ensure_revision(self.client, self.revisions, ds, digest)
            await self._manage(ds, digest, by_node, request.key)
        return await self._update_status(ds, digest, by_node)

    async def _manage(self, ds: JSONObject, digest: str, by_node: dict[str, list[JSONObject]],
                      key: str) -> None:
        spec = (ds.get("spec") or {}).get("template", {}).get("spec") or {}
        nodes = {meta(n)["name"]: n for n in self.nodes.store.list()}
        create: list[str] = []
        delete: list[JSONObject] = []
        for name, node in nodes.items():
            should_run, keep = node_fits(spec, node)
            pods = sorted(by_node.get(name, []),
                          key=lambda p: parse_time(meta(p).get("creationTimestamp")) or 0)
            failed = [p for p in pods if (p.get("status") or {}).get("phase") == "Failed"]
            delete.extend(failed)
            pods = [p for p in pods if p not in failed]
            if should_run and not pods and not failed:
                create.append(name)
            elif not keep:
                delete.extend(pods)
            elif len(pods) > 1:
                delete.extend(pods[1:])
        for name, pods in by_node.items():  # pods of nodes that are gone
            if name not in nodes:
                delete.extend(pods)
        delete.extend(self._rolling_victims(ds, digest, by_node, nodes, delete))
        self.expectations.expect(key, adds=len(create), dels=len(delete))
        ns = str(meta(ds)["namespace"])
        results = await asyncio.gather(
            *(self._create(ds, pod_for_node(ds, digest, n), ns) for n in create),
            *(self._delete(ds, p) for p in delete), return_exceptions=True)
        failures = [r for r in results if isinstance(r, Exception)]
        if failures:
            self.expectations.forget(key)
            raise failures[0]

    def _rolling_victims(self, ds: JSONObject, digest: str,
                         by_node: dict[str, list[JSONObject]], nodes: dict[str, JSONObject],
                         already: list[JSONObject]) -> list[JSONObject]:
        strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return []
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        spec = (ds.get("spec") or {}).get("template", {}).get("spec") or {}
        eligible = [n for n, node in nodes.items() if node_fits(spec, node)[0]]
        budget = int_or_percent((strategy.get("rollingUpdate") or {}).get(
            "maxUnavailable", 1), len(eligible), round_up=True) or 1
        now = time.time()
        gone = {meta(p).get("uid") for p in already}
        unavailable = 0
        old_available: list[JSONObject] = []
        old_unavailable: list[JSONObject] = []
        for name in eligible:
            pods = [p for p in by_node.get(name, []) if meta(p).get("uid") not in gone]
            if not pods or not is_pod_available(pods[0], min_ready, now):
                unavailable += 1
            for pod in pods:
                if (meta(pod).get("labels") or {}).get(REVISION_HASH) != digest:
                    (old_available if is_pod_available(pod, min_ready, now)
                     else old_unavailable).append(pod)
        victims = list(old_unavailable)
        room = budget - unavailable
        victims.extend(old_available[:max(0, room)])
        return victims

    async def _create(self, ds: JSONObject, pod: JSONObject, namespace: str) -> None:
        created = await self.client.create("pods", pod, namespace)
        self.events.normal(ds, "SuccessfulCreate", f"Created pod: {meta(created)['name']}")

    async def _delete(self, ds: JSONObject, pod: JSONObject) -> None:
        with contextlib.suppress(errors.NotFound):
            await self.client.delete("pods", meta(pod)["name"], meta(pod)["namespace"])
            self.events.normal(ds, "SuccessfulDelete", f"Deleted pod: {meta(pod)['name']}")

    async def _update_status(self, ds: JSONObject, digest: str,
                             by_node: dict[str, list[JSONObject]]) -> Result | None:
        spec = (ds.get("spec") or {}).get("template", {}).get("spec") or {}
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        now = time.time()
        desired = scheduled = misscheduled = ready = updated = available = 0
        for node in self.nodes.store.list():
            should_run, _ = node_fits(spec, node)
            pods = by_node.get(meta(node)["name"], [])
            if should_run:
                desired += 1
                if pods:
                    scheduled += 1
                    pod = pods[0]
                    ready += is_pod_ready(pod)
                    available += is_pod_available(pod, min_ready, now)
                    updated += (meta(pod).get("labels") or {}).get(REVISION_HASH) == digest
            elif pods:
                misscheduled += 1
        old = ds.get("status") or {}
        status: JSONObject = {
            "desiredNumberScheduled": desired, "currentNumberScheduled": scheduled,
            "numberMisscheduled": misscheduled, "numberReady": ready,
            "updatedNumberScheduled": updated, "numberAvailable": available,
            "numberUnavailable": desired - available,
            "observedGeneration": meta(ds).get("generation", 1)}
        if old.get("collisionCount"):
            status["collisionCount"] = old["collisionCount"]
        if any(old.get(k, 0) != v for k, v in status.items()):
            with contextlib.suppress(errors.NotFound):
                await self.client.update_status("daemonsets", {**ds, "status": status})
        if min_ready and ready > available:
            return Result(requeue_after=float(min_ready))
        return None


def new_controller(ctx: ControllerContext) -> DaemonSetController:
    return DaemonSetController(ctx)
