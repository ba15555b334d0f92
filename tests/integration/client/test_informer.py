"""Informers against real etcd + kubeadmpy-apiserver: the cache converges and handlers see every
change across an apiserver restart, an etcd restart, and a 410 that forces a re-list."""

from __future__ import annotations

import asyncio
from typing import Any

from apiserver_harness import Cluster
from client_harness import client_for, eventually, running, second_apiserver

from kubeadmpy.client import (
    Client,
    EventHandler,
    Informer,
    InformerOptions,
    SharedInformerFactory,
    load_kubeconfig,
    pods_by_node_name,
)

DEFAULT_NAMESPACE = InformerOptions(namespace="default")


class Recorder:
    """Event handlers that log (type, name) in the order they were called."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def handler(self) -> EventHandler:
        return EventHandler(
            on_add=lambda o: self.events.append(("add", name(o))),
            on_update=lambda _old, new: self.events.append(("update", name(new))),
            on_delete=lambda o: self.events.append(("delete", name(o))))


def name(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["name"])


def cached_names(informer: Informer) -> list[str]:
    return sorted(name(o) for o in informer.store.list())


async def server_names(client: Client, namespace: str) -> list[str]:
    return sorted(name(o) for o in (await client.list("configmaps", namespace)).items)


def configmap(cm_name: str, value: str = "1") -> dict[str, Any]:
    return {"metadata": {"name": cm_name}, "data": {"v": value}}


async def test_an_informer_indexes_pods_by_node_and_replays_the_cache_to_late_handlers(
        client: Client, namespace: str) -> None:
    factory = SharedInformerFactory(client)
    pods = factory.informer("pods", namespace=namespace,
                            indexers={"nodeName": pods_by_node_name})
    assert factory.informer("pods", namespace=namespace) is pods, "one watch per resource"
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    await client.create("pods", pod, namespace)
    async with running(factory.run()):
        await asyncio.wait_for(factory.wait_synced(), 30)
        assert pods.has_synced()
        await client.bind(namespace, "p", "node-7")
        await eventually(lambda: len(pods.store.by_index("nodeName", "node-7")) == 1,
                         "pod indexed under its node")
        late = Recorder()
        pods.add_handler(late.handler())
        assert late.events == [("add", "p")]
        # An informer registered while the factory runs is started by it too.
        await client.create("configmaps", {"metadata": {"name": "cm"}}, namespace)
        configmaps = factory.informer("configmaps", namespace=namespace)
        await asyncio.wait_for(configmaps.wait_synced(), 30)
        assert cached_names(configmaps) == ["cm"]


async def test_an_informer_resumes_across_an_apiserver_restart_without_losing_events(
        own_cluster: Cluster) -> None:
    recorder = Recorder()
    async with client_for(own_cluster) as client:
        await client.create("configmaps", configmap("a"), "default")
        await client.create("configmaps", configmap("b"), "default")
        informer = Informer(client, "configmaps", DEFAULT_NAMESPACE)
        informer.add_handler(recorder.handler())
        async with running(informer.run()):
            await asyncio.wait_for(informer.wait_synced(), 30)
            await asyncio.to_thread(own_cluster.apiserver.stop)
            with second_apiserver(own_cluster) as kubeconfig:
                async with Client(load_kubeconfig(kubeconfig)) as writer:
                    await writer.create("configmaps", configmap("c"), "default")
                    await writer.patch("configmaps", "a", {"data": {"v": "2"}}, "default")
                    await writer.delete("configmaps", "b", "default")
            await asyncio.to_thread(own_cluster.apiserver.start)
            await eventually(lambda: ("delete", "b") in recorder.events,
                             "the events written while the apiserver was down arrive")
            assert cached_names(informer) == await server_names(client, "default")
            assert informer.store.get_by_name("a", "default")["data"] == {"v": "2"}
    assert recorder.events[-3:] == [("add", "c"), ("update", "a"), ("delete", "b")]
    assert informer.lists == 1, "resumed from the last resourceVersion, no re-list"


async def test_an_informer_keeps_its_watch_across_an_etcd_restart(own_cluster: Cluster) -> None:
    recorder = Recorder()
    async with client_for(own_cluster) as client:
        informer = Informer(client, "configmaps", DEFAULT_NAMESPACE)
        informer.add_handler(recorder.handler())
        async with running(informer.run()):
            await asyncio.wait_for(informer.wait_synced(), 30)
            await client.create("configmaps", configmap("before"), "default")
            await asyncio.to_thread(own_cluster.etcd.stop)
            await asyncio.to_thread(own_cluster.etcd.start)
            for attempt in range(100):  # the apiserver reconnects to etcd on its own
                try:
                    await client.create("configmaps", configmap("after"), "default")
                    break
                except Exception:
                    if attempt == 99:
                        raise
                    await asyncio.sleep(0.1)
            await eventually(lambda: ("add", "after") in recorder.events,
                             "an event written after the etcd restart arrives")
            assert ("add", "before") in recorder.events
            assert cached_names(informer) == await server_names(client, "default")
    assert informer.lists == 1


async def test_410_gone_makes_the_informer_list_again_and_converge(
        small_window_cluster: Cluster) -> None:
    cluster = small_window_cluster
    recorder = Recorder()
    async with client_for(cluster) as client:
        for cm in ("keep", "drop", "change"):
            await client.create("configmaps", configmap(cm), "default")
        informer = Informer(client, "configmaps", DEFAULT_NAMESPACE)
        informer.add_handler(recorder.handler())
        async with running(informer.run()):
            await asyncio.wait_for(informer.wait_synced(), 30)
            await asyncio.to_thread(cluster.apiserver.stop)
            with second_apiserver(cluster) as kubeconfig:
                async with Client(load_kubeconfig(kubeconfig)) as writer:
                    await writer.delete("configmaps", "drop", "default")
                    await writer.patch("configmaps", "change", {"data": {"v": "2"}}, "default")
                    for i in range(10):  # more writes than the 5-event window holds
                        await writer.create("configmaps", configmap(f"new-{i}"), "default")
            await asyncio.to_thread(cluster.apiserver.start)
            await eventually(lambda: informer.lists == 2, "a second list after 410 Gone")
            await eventually(lambda: len(informer.store) == 12, "the cache converges")
            assert cached_names(informer) == await server_names(client, "default")
    assert ("delete", "drop") in recorder.events
    assert ("update", "change") in recorder.events
    assert sum(1 for kind, n in recorder.events if kind == "add" and n.startswith("new-")) == 10
