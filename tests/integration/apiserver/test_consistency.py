"""Consistency under concurrency and failures: two writers racing on one resourceVersion (exactly
one wins, the other gets 409), and a resuming watcher (like an informer) that must see every
event exactly once and in order while etcd restarts and while its apiserver restarts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from apiserver_harness import APIServerProcess, Cluster

BASE = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def http(own_cluster: Cluster) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(ssl=own_cluster.ssl_context())
    async with aiohttp.ClientSession(own_cluster.apiserver.url, connector=connector) as session:
        yield session


async def create(http: aiohttp.ClientSession, name: str) -> dict[str, Any]:
    body = {"metadata": {"name": name}, "data": {"n": name}}
    async with http.post(BASE, json=body) as response:
        assert response.status == 201, await response.text()
        result: dict[str, Any] = await response.json()
        return result


async def test_two_concurrent_writers_exactly_one_wins(http: aiohttp.ClientSession) -> None:
    for round_ in range(10):
        obj = await create(http, f"race{round_}")

        async def replace(value: str, obj: dict[str, Any] = obj) -> int:
            body = {**obj, "data": {"n": value}}
            async with http.put(f"{BASE}/{obj['metadata']['name']}", json=body) as response:
                return response.status

        codes = sorted(await asyncio.gather(replace("left"), replace("right")))
        assert codes == [200, 409]


class ResumingWatcher:
    """Watches from a resourceVersion and, like an informer, resumes from the last one seen."""

    def __init__(self, ssl: Any, url: str, resource_version: str) -> None:
        self.ssl, self.url, self.rv = ssl, url, resource_version
        self.seen: list[tuple[str, str]] = []
        self.errors: list[dict[str, Any]] = []
        self.reconnects = 0
        self.changed = asyncio.Event()

    async def run(self) -> None:
        connector = aiohttp.TCPConnector(ssl=self.ssl, force_close=True)
        async with aiohttp.ClientSession(self.url, connector=connector) as session:
            while True:
                try:
                    async with session.get(f"{BASE}?watch=true&allowWatchBookmarks=true"
                                           f"&resourceVersion={self.rv}") as response:
                        async for line in response.content:
                            if line.strip():
                                self.handle(json.loads(line))
                except (aiohttp.ClientError, OSError):
                    pass
                self.reconnects += 1
                await asyncio.sleep(0.2)

    def handle(self, event: dict[str, Any]) -> None:
        if event["type"] == "ERROR":
            self.errors.append(event["object"])
            return
        self.rv = event["object"]["metadata"]["resourceVersion"]
        if event["type"] != "BOOKMARK":
            self.seen.append((event["type"], event["object"]["metadata"]["name"]))
            self.changed.set()

    async def wait_for(self, name: str, seconds: float = 30) -> None:
        async with asyncio.timeout(seconds):
            while ("ADDED", name) not in self.seen:
                self.changed.clear()
                await self.changed.wait()


async def test_watchers_miss_nothing_across_etcd_and_apiserver_restarts(
        own_cluster: Cluster, http: aiohttp.ClientSession) -> None:
    second = APIServerProcess(own_cluster.certs, own_cluster.etcd, own_cluster.workdir)
    first = await create(http, "before")
    watcher = ResumingWatcher(own_cluster.ssl_context(), own_cluster.apiserver.url,
                              first["metadata"]["resourceVersion"])
    task = asyncio.create_task(watcher.run())
    expected = []
    try:
        for index in range(3):
            expected.append(f"a{index}")
            await create(http, f"a{index}")
        await watcher.wait_for("a2")

        await asyncio.to_thread(own_cluster.etcd.stop)
        await asyncio.to_thread(own_cluster.etcd.start)
        for index in range(3):
            expected.append(f"b{index}")
            await create(http, f"b{index}")
        await watcher.wait_for("b2")

        # The watcher's apiserver goes away; writes continue through a second apiserver.
        await asyncio.to_thread(second.start)
        await asyncio.to_thread(own_cluster.apiserver.stop)
        connector = aiohttp.TCPConnector(ssl=own_cluster.ssl_context())
        async with aiohttp.ClientSession(second.url, connector=connector) as other:
            for index in range(3):
                expected.append(f"c{index}")
                await create(other, f"c{index}")
        await asyncio.to_thread(own_cluster.apiserver.start)
        await watcher.wait_for("c2")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.to_thread(second.stop)
    assert watcher.errors == []
    assert watcher.seen == [("ADDED", name) for name in expected]
    assert watcher.reconnects >= 1  # it really had to resume


async def test_compacted_history_gives_410_and_a_relist_recovers(
        own_cluster: Cluster, http: aiohttp.ClientSession) -> None:
    from kubeadmpy.apiserver.etcd import EtcdClient, EtcdTLS

    old = await create(http, "old")
    old_rv = old["metadata"]["resourceVersion"]
    c = own_cluster.certs
    async with EtcdClient([own_cluster.etcd.url], EtcdTLS(
            c.path("etcd/ca.crt"), c.path("apiserver-etcd-client.crt"),
            c.path("apiserver-etcd-client.key"))) as etcd:
        await asyncio.to_thread(own_cluster.apiserver.stop)
        for index in range(5):  # history the restarted apiserver can no longer replay
            await etcd.put(f"/registry/unrelated/{index}", b"{}")
        await etcd.compact(await etcd.current_revision())
    await asyncio.to_thread(own_cluster.apiserver.start)
    connector = aiohttp.TCPConnector(ssl=own_cluster.ssl_context())
    async with aiohttp.ClientSession(own_cluster.apiserver.url, connector=connector) as fresh:
        async with fresh.get(f"{BASE}?resourceVersion={old_rv}&resourceVersionMatch=Exact"
                             ) as response:
            assert response.status == 410
            assert (await response.json())["reason"] == "Expired"
        async with fresh.get(f"{BASE}?watch=true&resourceVersion={old_rv}") as response:
            events = [json.loads(line) async for line in response.content if line.strip()]
        assert [(e["type"], e["object"]["code"]) for e in events] == [("ERROR", 410)]
        async with fresh.get(BASE) as response:  # the relist an informer then does
            names = [i["metadata"]["name"] for i in (await response.json())["items"]]
        assert "old" in names


async def test_readyz_follows_etcd_while_livez_stays_up(own_cluster: Cluster,
                                                       http: aiohttp.ClientSession) -> None:
    async def code(path: str) -> int:
        async with http.get(path) as response:
            await response.read()
            return response.status

    assert (await code("/readyz"), await code("/livez")) == (200, 200)
    await asyncio.to_thread(own_cluster.etcd.stop)
    try:
        assert (await code("/readyz"), await code("/livez")) == (500, 200)
        async with http.get("/readyz?verbose") as response:
            assert "[-]etcd failed" in await response.text()
    finally:
        await asyncio.to_thread(own_cluster.etcd.start)
    for _ in range(75):  # ready again once the etcd connection is re-established
        if await code("/readyz") == 200:
            break
        await asyncio.sleep(0.2)
    else:
        pytest.fail("/readyz did not recover after etcd came back")
