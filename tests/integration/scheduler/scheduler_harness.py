"""Helpers for the scheduler integration tests: register simulated nodes, create pods, wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from kubeadmpy.client import Client
from kubeadmpy.scheduler.simulated import simulated_node, simulated_nodes

__all__ = ["create_pods", "pods_by_node", "register_simulated_nodes", "simulated_node",
           "simulated_nodes", "wait_for"]


async def register_simulated_nodes(client: Client, nodes: list[dict[str, Any]],
                                   concurrency: int = 32) -> None:
    """Create Node objects as a kubelet would register them (status included)."""
    slots = asyncio.Semaphore(concurrency)

    async def one(node: dict[str, Any]) -> None:
        async with slots:
            created = await client.create("nodes", node)
            if not (created.get("status") or {}).get("allocatable"):
                await client.patch("nodes", node["metadata"]["name"],
                                   {"status": node["status"]}, subresource="status")
    await asyncio.gather(*(one(n) for n in nodes))


def pending_pod(name: str, *, cpu: str = "100m", memory: str = "64Mi",
                **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": "registry.local/app:1",
                                     "resources": {"requests": {"cpu": cpu, "memory": memory}}}],
                     "terminationGracePeriodSeconds": 30, **spec}}


async def create_pods(client: Client, namespace: str, pods: list[dict[str, Any]],
                      concurrency: int = 32) -> None:
    slots = asyncio.Semaphore(concurrency)

    async def one(pod: dict[str, Any]) -> None:
        async with slots:
            await client.create("pods", pod, namespace)
    await asyncio.gather(*(one(p) for p in pods))


async def pods_by_node(client: Client, namespace: str) -> dict[str, str]:
    listed = await client.list("pods", namespace)
    return {p["metadata"]["name"]: (p.get("spec") or {}).get("nodeName", "")
            for p in listed.items}


async def wait_for(check: Callable[[], Awaitable[bool]], what: str,
                   seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
