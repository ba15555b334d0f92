"""Remove every container and pod sandbox a runtime holds: what `kubeadmpy reset` does to CRI.

kubeadm's reset stops and removes all pods through the CRI (like ``crictl rmp -a -f``) before it
deletes files; stopping a sandbox is also what runs CNI DEL, so addresses and veths go with it.
Failures on single objects are collected rather than raised: reset must get as far as it can
and then say what it left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubeadmpy.cri.client import CRIClient
from kubeadmpy.cri.errors import CRIError, CRINotFound


@dataclass
class RemovalReport:
    """What `remove_all_pods` removed and what it could not."""

    containers: int = 0
    sandboxes: int = 0
    left: list[str] = field(default_factory=list)  # "<kind> <id>: <error>"


async def remove_all_pods(client: CRIClient, stop_timeout_seconds: int = 0) -> RemovalReport:
    """Stop and remove all containers, then all sandboxes; never raises for one object."""
    report = RemovalReport()
    for container in await client.list_containers():
        try:
            await client.stop_container(container.id, stop_timeout_seconds)
            await client.remove_container(container.id)
            report.containers += 1
        except CRINotFound:
            report.containers += 1  # gone meanwhile: the goal is met
        except CRIError as exc:
            report.left.append(f"container {container.id[:13]}: {exc.detail}")
    for sandbox in await client.list_pod_sandbox():
        try:
            await client.stop_pod_sandbox(sandbox.id)
            await client.remove_pod_sandbox(sandbox.id)
            report.sandboxes += 1
        except CRINotFound:
            report.sandboxes += 1
        except CRIError as exc:
            report.left.append(f"sandbox {sandbox.id[:13]}: {exc.detail}")
    return report
