"""Two kubeadmpy-controller-manager processes (the console script's module, real subprocesses)
on one Lease: exactly one leads and runs the controllers; after SIGKILL of the leader the other
takes the Lease over and the controllers work again. Short lease flags keep the test quick;
what is asserted is who holds the Lease, its transitions and the order of its timestamps."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from apiserver_harness import Cluster, Process
from workloads_harness import WORKLOAD_CONTROLLERS, create_namespace, wait_for

from kubeadmpy.client import Client

pytestmark = pytest.mark.timeout(180)
LEASE_FLAGS = ["--leader-elect=true", "--leader-elect-lease-duration=4s",
               "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=1s"]


def identity_of(process: Process) -> str:
    match = re.search(r"leader election identity (\S+)", process.log.read_text())
    return match.group(1) if match else ""


@pytest.fixture
def managers(cluster: Cluster, tmp_path: Path) -> Iterator[list[Process]]:
    processes = [Process([sys.executable, "-m", "kubeadmpy.controllers.main",
                          f"--kubeconfig={cluster.kubeconfig}", "--bind-address=127.0.0.1",
                          "--secure-port=0", f"--controllers={WORKLOAD_CONTROLLERS}",
                          *LEASE_FLAGS],
                         tmp_path / f"controller-manager-{i}.log") for i in range(2)]
    try:
        for process in processes:
            process.start()
        yield processes
    finally:
        for process in processes:
            process.stop()


def health_port(process: Process) -> int:
    match = re.search(r"serving health on https://127\.0\.0\.1:(\d+)", process.log.read_text())
    return int(match.group(1)) if match else 0


def get_health(port: int, path: str) -> tuple[int, str]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the component's self-signed serving certificate
    try:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", context=context,
                                    timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def micro(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


async def lease(client: Client) -> dict[str, Any]:
    return (await client.get("leases", "kube-controller-manager", "kube-system"))["spec"]


async def replicaset_made_for(client: Client, ns: str, name: str) -> None:
    await client.create("deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "x"}]}}}}, ns)

    async def made() -> bool:
        return bool((await client.list("replicasets", ns, label_selector=f"app={name}")).items)
    await wait_for(made, f"a ReplicaSet for {name}", 60)


async def test_one_leader_and_takeover_after_sigkill(admin: Client,
                                                     managers: list[Process]) -> None:
    async def identities() -> list[str] | None:
        found = [identity_of(p) for p in managers]
        return found if all(found) else None
    ids = await wait_for(identities, "both processes report their identity")

    async def held() -> dict[str, Any] | None:
        try:
            spec = await lease(admin)
        except Exception:
            return None
        return spec if spec.get("holderIdentity") in ids else None
    first = await wait_for(held, "a leader")
    leader = ids.index(first["holderIdentity"])
    follower = 1 - leader
    ns = "leader-election"
    await create_namespace(admin, ns)
    await replicaset_made_for(admin, ns, "before")
    leaders = [p for p in managers if "became leader" in p.log.read_text()]
    assert leaders == [managers[leader]]  # exactly one ever led so far
    for process in managers:  # both serve health, leader or not (kubeadm's probes)
        port = health_port(process)
        assert port
        assert await asyncio.to_thread(get_health, port, "/healthz") == (200, "ok")
        assert (await asyncio.to_thread(get_health, port, "/healthz/leader-election"))[0] == 200

    assert managers[leader].proc is not None
    os.killpg(managers[leader].proc.pid, signal.SIGKILL)
    managers[leader].proc.wait(10)
    last_renew = micro((await lease(admin))["renewTime"])

    async def taken_over() -> dict[str, Any] | None:
        spec = await lease(admin)
        return spec if spec.get("holderIdentity") == ids[follower] else None
    second = await wait_for(taken_over, "the follower takes the Lease", 60)
    assert second["leaseTransitions"] == first.get("leaseTransitions", 0) + 1
    assert micro(second["acquireTime"]) > last_renew  # only after the old term's last renewal
    assert second["leaseDurationSeconds"] == 4
    await replicaset_made_for(admin, ns, "after")  # the new leader runs the controllers
    assert "became leader" in managers[follower].log.read_text()
    assert managers[follower].alive()
