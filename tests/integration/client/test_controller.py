"""The Controller engine on the real apiserver: a small mirroring controller converges; errors
are retried with back-off, terminal errors dropped, requeue_after honoured; workers start only
after the caches synced. And run_component: health endpoints, leader election, SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import ssl
import sys
import urllib.request
from collections import Counter
from typing import Any

from apiserver_harness import Cluster
from client_harness import client_for, eventually, running

from kubeadmpy.client import (
    Client,
    ComponentSettings,
    Controller,
    Informer,
    InformerOptions,
    Request,
    Result,
    RunningComponent,
    TerminalError,
    errors,
    reconcile_id,
    run_component,
)


class Mirror:
    """Keeps `<name>-copy` equal to every ConfigMap labelled mirror=yes (the business code)."""

    def __init__(self, client: Client, informer: Informer) -> None:
        self.client, self.informer = client, informer
        self.calls: Counter[str] = Counter()
        self.ids: list[str] = []
        self.unsynced_calls = 0

    async def reconcile(self, request: Request) -> Result | None:
        self.calls[request.name] += 1
        self.ids.append(reconcile_id.get())
        if not self.informer.has_synced():
            self.unsynced_calls += 1
        if request.name == "flaky" and self.calls[request.name] < 3:
            raise RuntimeError("transient trouble")
        if request.name == "hopeless":
            raise TerminalError("this one can never work")
        source = self.informer.store.get_by_name(request.name, request.namespace)
        copy_name = f"{request.name}-copy"
        if source is None:
            with contextlib.suppress(errors.NotFound):
                await self.client.delete("configmaps", copy_name, request.namespace)
            return None
        body = {"metadata": {"name": copy_name}, "data": source.get("data") or {}}
        await self.client.apply("configmaps", body, request.namespace, field_manager="mirror",
                                force=True)
        if request.name == "periodic" and self.calls[request.name] < 3:
            return Result(requeue_after=0.05)
        return None


async def copies(client: Client, namespace: str) -> dict[str, dict[str, str]]:
    listed = await client.list("configmaps", namespace)
    return {o["metadata"]["name"]: o.get("data") or {} for o in listed.items
            if o["metadata"]["name"].endswith("-copy")}


async def test_a_controller_converges_retries_and_drops_terminal_errors(
        client: Client, namespace: str) -> None:
    for name in ("a", "flaky", "hopeless", "periodic"):
        await client.create("configmaps", {"metadata": {"name": name,
                                                        "labels": {"mirror": "yes"}},
                                           "data": {"v": name}}, namespace)
    informer = Informer(client, "configmaps", InformerOptions(
        namespace=namespace, label_selector="mirror=yes"))
    mirror = Mirror(client, informer)
    controller = Controller("mirror", mirror.reconcile, workers=2)
    controller.watch(informer)
    async with running(informer.run()), running(controller.run()):
        await asyncio.wait_for(controller.started.wait(), 30)
        await eventually(lambda: mirror.calls["periodic"] >= 3, "requeue_after comes back")
        await eventually(lambda: mirror.calls["flaky"] >= 3, "the flaky key is retried")

        async def converged() -> bool:
            return set(await copies(client, namespace)) == {"a-copy", "flaky-copy",
                                                            "periodic-copy"}
        for _ in range(600):
            if await converged():
                break
            await asyncio.sleep(0.05)
        assert await converged()

        await client.patch("configmaps", "a", {"data": {"v": "changed"}}, namespace)
        await client.delete("configmaps", "flaky", namespace)
        for _ in range(600):
            state = await copies(client, namespace)
            if "flaky-copy" not in state and state.get("a-copy") == {"v": "changed"}:
                break
            await asyncio.sleep(0.05)
        assert state.get("a-copy") == {"v": "changed"} and "flaky-copy" not in state
    assert mirror.calls["hopeless"] == 1, "a terminal error is not retried"
    assert controller.failures >= 2
    assert mirror.unsynced_calls == 0, "no reconcile before the cache synced"
    assert len(set(mirror.ids)) == len(mirror.ids) and all(mirror.ids), "one id per call"


async def test_run_component_serves_health_and_runs_work_in_process(cluster: Cluster) -> None:
    state = RunningComponent()
    started = asyncio.Event()

    async def work() -> None:
        started.set()
        await asyncio.Event().wait()

    async with client_for(cluster) as client, running(run_component(
            ComponentSettings("test-component", "127.0.0.1", 0), client, work, state)):
        await asyncio.wait_for(started.wait(), 30)
        assert state.working
        for path in ("/healthz", "/livez", "/readyz", "/healthz/leader-election"):
            assert await asyncio.to_thread(get_health, state.port, path) == (200, "ok")
    assert not state.working


async def test_run_component_serves_health_with_a_given_certificate(cluster: Cluster) -> None:
    state, started = RunningComponent(), asyncio.Event()

    async def work() -> None:
        started.set()
        await asyncio.Event().wait()

    settings = ComponentSettings("test-component", "127.0.0.1", 0,
                                 tls_cert_file=cluster.certs.path("apiserver.crt"),
                                 tls_private_key_file=cluster.certs.path("apiserver.key"))
    async with client_for(cluster) as client, running(run_component(settings, client, work,
                                                                    state)):
        await asyncio.wait_for(started.wait(), 30)
        verified = ssl.create_default_context(cafile=cluster.certs.path("ca.crt"))
        assert await asyncio.to_thread(get_health, state.port, "/healthz", verified) == (
            200, "ok")


def get_health(port: int, path: str, context: ssl.SSLContext | None = None
               ) -> tuple[int, str]:
    if context is None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the component's self-signed certificate
    with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", context=context,
                                timeout=5) as response:
        return response.status, response.read().decode()


COMPONENT = """
import asyncio, json, sys
from kubeadmpy.client import *
from kubeadmpy.client.leaderelection import LeaderElectionConfig, LeaderElectionSettings

async def main():
    config = load_kubeconfig(sys.argv[1])
    election = LeaderElectionSettings(True, LeaderElectionConfig(
        "sigterm-test", "default", "component-1", 2, 1.5, 0.25))
    state = RunningComponent()
    async def work():
        print(json.dumps({"port": state.port}), flush=True)
        await asyncio.Event().wait()
    async with Client(config) as client:
        await run_component(ComponentSettings("c", "127.0.0.1", 0, leader_election=election),
                            client, work, state)
    print(json.dumps({"exit": "clean"}), flush=True)

asyncio.run(main())
"""


async def test_a_component_process_releases_its_lease_on_sigterm(client: Client,
                                                                 cluster: Cluster) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", COMPONENT, str(cluster.kubeconfig),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        port = json.loads(line)["port"]
        assert await asyncio.to_thread(get_health, port, "/healthz") == (200, "ok")
        lease: dict[str, Any] = await client.get("leases", "sigterm-test", "default")
        assert lease["spec"]["holderIdentity"] == "component-1"
        os.kill(process.pid, signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        assert json.loads(out.decode().strip().splitlines()[-1]) == {"exit": "clean"}
        lease = await client.get("leases", "sigterm-test", "default")
        assert not lease["spec"].get("holderIdentity"), "the lease was released"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
