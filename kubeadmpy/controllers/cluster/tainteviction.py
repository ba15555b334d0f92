"""The taint-eviction controller: pods leave nodes with NoExecute taints they do not tolerate.

A pod that does not tolerate a NoExecute taint of its node is deleted at once; one that
tolerates it with `tolerationSeconds` is deleted that many seconds after the taint was added
(the taint's `timeAdded`, so a controller restart does not restart the clock); tolerating
without a limit means staying. The API server's DefaultTolerationSeconds admission gives pods
300 s tolerations for not-ready and unreachable. Before deleting, the pod gets upstream's
DisruptionTarget condition (reason DeletionByTaintManager) so its owner can tell why it went.
"""

from __future__ import annotations

import logging

from kubeadmpy.client import Controller, Request, Result, errors, pods_by_node_name
from kubeadmpy.client.clock import Clock
from kubeadmpy.client.rest import PatchType
from kubeadmpy.controllers.cluster import taints
from kubeadmpy.controllers.cluster.common import (
    JSONObject,
    delete_if_present,
    is_terminating,
    meta,
    name_of,
    parse_time,
    rfc3339,
    spec,
)
from kubeadmpy.controllers.cluster.events import NORMAL, EventRecorder
from kubeadmpy.controllers.registry import ControllerContext

log = logging.getLogger(__name__)
NAME = "taint-eviction-controller"
NODE_NAME_INDEX = "spec.nodeName"


class TaintEvictionController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock: Clock = ctx.clock
        self.nodes = ctx.informers.informer("nodes")
        self.pods = ctx.informers.informer("pods", indexers={NODE_NAME_INDEX: pods_by_node_name})
        self.events = EventRecorder(ctx.client, "taint-eviction-controller", ctx.clock)
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock, workers=4)
        self.controller.watch(self.pods)
        self.controller.watch(self.nodes, self._pods_on)

    def _pods_on(self, node: JSONObject) -> list[Request]:
        return [Request.of(pod) for pod in
                self.pods.store.by_index(NODE_NAME_INDEX, name_of(node))]

    async def run(self) -> None:
        await self.controller.run()

    async def reconcile(self, request: Request) -> Result | None:
        pod = self.pods.store.get(request.key)
        if pod is None or is_terminating(pod):
            return None
        node = self.nodes.store.get(str(spec(pod).get("nodeName") or ""))
        if node is None:
            return None
        no_execute = [t for t in spec(node).get("taints") or []
                      if t.get("effect") == taints.NO_EXECUTE]
        delay = taints.eviction_delay(no_execute, spec(pod).get("tolerations") or [])
        if delay is None:
            return None
        if delay > 0:
            wall = self.clock.wall()
            added = [parse_time(t.get("timeAdded")) for t in no_execute]
            since = max((a for a in added if a is not None), default=wall)
            remaining = delay - (wall - since).total_seconds()
            if remaining > 0:
                return Result(requeue_after=remaining)
        await self._evict(pod, name_of(node))
        return None

    async def _evict(self, pod: JSONObject, node: str) -> None:
        namespace, name = str(meta(pod).get("namespace")), name_of(pod)
        log.info("evicting pod %s/%s from node %s (NoExecute taint)", namespace, name, node)
        condition = {"type": "DisruptionTarget", "status": "True",
                     "reason": "DeletionByTaintManager",
                     "message": "Taint manager: deleting due to NoExecute taint",
                     "lastTransitionTime": rfc3339(self.clock.wall())}
        try:
            await self.client.patch("pods", name, {"status": {"conditions": [condition]}},
                                    namespace, patch_type=PatchType.STRATEGIC,
                                    subresource="status")
        except errors.NotFound:
            return
        except errors.APIError as exc:  # the condition is informative; deleting is the point
            log.warning("pod %s/%s: could not add DisruptionTarget: %s", namespace, name, exc)
        await self.events.record({"kind": "Pod", **pod}, NORMAL, "TaintManagerEviction",
                                 f"Marking for deletion Pod {namespace}/{name}")
        await delete_if_present(self.client, "pods", name, namespace,
                                uid=str(meta(pod).get("uid") or ""))


def new_controller(ctx: ControllerContext) -> TaintEvictionController:
    return TaintEvictionController(ctx)
