"""Watch streams against the real server: typed events, bookmarks, resuming, timeouts, 410."""

from __future__ import annotations

import asyncio

import pytest
from apiserver_harness import Cluster
from client_harness import client_for

from kubeadmpy.client import Client, WatchEvent, errors


async def collect(client: Client, namespace: str, count: int, **kwargs: object
                  ) -> list[WatchEvent]:
    seen: list[WatchEvent] = []
    async with asyncio.timeout(30), client.watch("configmaps", namespace, **kwargs) as events:
        async for event in events:
            seen.append(event)
            if len(seen) == count:
                break
    return seen


async def test_events_arrive_typed_and_in_order(client: Client, namespace: str) -> None:
    start = await client.list("configmaps", namespace)

    async def write() -> None:
        await client.create("configmaps", {"metadata": {"name": "w"}, "data": {"v": "1"}},
                            namespace)
        await client.patch("configmaps", "w", {"data": {"v": "2"}}, namespace)
        await client.delete("configmaps", "w", namespace)

    async with asyncio.TaskGroup() as group:
        watching = group.create_task(collect(client, namespace, 3,
                                             resource_version=start.resource_version))
        group.create_task(write())
    events = watching.result()
    assert [(e.type, e.object["data"]["v"]) for e in events] == [
        ("ADDED", "1"), ("MODIFIED", "2"), ("DELETED", "2")]
    assert all(e.object["kind"] == "ConfigMap" for e in events)


async def test_initial_events_end_with_a_bookmark_whose_version_resumes_the_watch(
        client: Client, namespace: str) -> None:
    await client.create("configmaps", {"metadata": {"name": "before"}}, namespace)
    initial = await collect(client, namespace, 2, send_initial_events=True)
    assert [e.type for e in initial] == ["ADDED", "BOOKMARK"]
    assert initial[1].initial_events_end
    bookmark_rv = initial[1].resource_version
    await client.create("configmaps", {"metadata": {"name": "after"}}, namespace)
    resumed = await collect(client, namespace, 1, resource_version=bookmark_rv)
    assert [(e.type, e.object["metadata"]["name"]) for e in resumed] == [("ADDED", "after")]


async def test_the_stream_ends_when_the_server_timeout_passes(client: Client,
                                                              namespace: str) -> None:
    rv = (await client.list("configmaps", namespace)).resource_version
    async with asyncio.timeout(30), client.watch("configmaps", namespace, resource_version=rv,
                                                 timeout_seconds=1,
                                                 allow_bookmarks=False) as events:
        seen = [event async for event in events]
    assert seen == []


async def test_a_too_old_resource_version_raises_gone(small_window_cluster: Cluster) -> None:
    async with client_for(small_window_cluster) as client:
        first = await client.create("configmaps", {"metadata": {"name": "c0"}}, "default")
        for i in range(1, 12):
            await client.create("configmaps", {"metadata": {"name": f"c{i}"}}, "default")
        with pytest.raises(errors.Gone):
            await collect(client, "default", 1,
                          resource_version=first["metadata"]["resourceVersion"])
