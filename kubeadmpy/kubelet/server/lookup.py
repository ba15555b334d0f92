"""How the kubelet's HTTP server finds pods and containers: the `PodLookup` protocol, and
`CRIPodLookup`, an implementation that asks the runtime itself.

The pod workers know every pod they run, so the kubelet passes its own lookup; `CRIPodLookup`
relies only on the labels the kubelet puts on sandboxes and containers
(io.kubernetes.pod.namespace / name / uid, io.kubernetes.container.name) and on the
container's log path the runtime reports, which also lets the server work for pods a
restarted kubelet has not synced yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubeadmpy.cri import CRIClient, CRIError, api

POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_UID_LABEL = "io.kubernetes.pod.uid"
CONTAINER_NAME_LABEL = "io.kubernetes.container.name"


@dataclass(frozen=True)
class ContainerRef:
    """One container of a pod as the server needs it."""

    name: str
    container_id: str  # the current (latest) instance; "" when none was created yet
    log_path: str  # host path of that instance's CRI log file
    previous_log_path: str = ""  # the instance before it (for ?previous=true)
    running: bool = False


@dataclass(frozen=True)
class PodRef:
    namespace: str
    name: str
    uid: str
    sandbox_id: str
    containers: Mapping[str, ContainerRef] = field(default_factory=dict)


class PodLookup(Protocol):
    """What KubeletServer asks the kubelet about its pods."""

    async def lookup(self, namespace: str, name: str) -> PodRef | None:
        """The pod by namespace/name, or None when this node does not run it."""

    async def pods(self) -> list[Mapping[str, Any]]:
        """The pods bound to this node as API objects (served at /pods)."""


class CRIPodLookup:
    """A `PodLookup` answered from the runtime's labels (no API objects for /pods)."""

    def __init__(self, cri: CRIClient) -> None:
        self.cri = cri

    async def lookup(self, namespace: str, name: str) -> PodRef | None:
        sandboxes = await self.cri.list_pod_sandbox(api.PodSandboxFilter(label_selector={
            POD_NAMESPACE_LABEL: namespace, POD_NAME_LABEL: name}))
        if not sandboxes:
            return None
        sandbox = max(sandboxes, key=lambda s: (s.state == api.SANDBOX_READY, s.created_at))
        instances: dict[str, list[api.Container]] = {}
        uid = sandbox.metadata.uid
        for candidate in sandboxes:
            if candidate.metadata.uid != uid:
                continue
            for container in await self.cri.list_containers(
                    api.ContainerFilter(pod_sandbox_id=candidate.id)):
                instances.setdefault(container.metadata.name, []).append(container)
        containers = {}
        for container_name, found in instances.items():
            found.sort(key=lambda c: (c.metadata.attempt, c.created_at))
            containers[container_name] = ContainerRef(
                container_name, found[-1].id, await self._log_path(found[-1].id),
                await self._log_path(found[-2].id) if len(found) > 1 else "",
                found[-1].state == api.CONTAINER_RUNNING)
        return PodRef(namespace, name, uid, sandbox.id, containers)

    async def _log_path(self, container_id: str) -> str:
        try:
            return str((await self.cri.container_status(container_id)).status.log_path)
        except CRIError:
            return ""

    async def pods(self) -> list[Mapping[str, Any]]:
        return []
