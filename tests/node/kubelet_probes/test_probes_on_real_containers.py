"""Probes against real busybox containers in a private containerd: the manager's verdicts, the
callbacks the pod worker relies on, and upstream's messages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from probe_pods import RunningPod

from kubeadmpy.cri import CRIClient
from kubeadmpy.kubelet.probes import ProbeManager, Result, run_probe

FAST = {"periodSeconds": 1, "timeoutSeconds": 1}


@dataclass
class Recorder:
    """What the pod worker and status manager would see from the manager."""

    liveness_failures: list[tuple[str, str, str, str]] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)
    changes: int = 0
    failed: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_liveness_failure(self, uid: str, name: str, container_id: str,
                                  message: str) -> None:
        self.liveness_failures.append((uid, name, container_id, message))
        self.failed.set()

    def on_event(self, uid: str, name: str, reason: str, message: str) -> None:
        self.events.append((reason, message))

    def on_change(self, uid: str) -> None:
        self.changes += 1


@pytest.fixture
async def manager(cri: CRIClient) -> AsyncIterator[tuple[ProbeManager, Recorder]]:
    recorder = Recorder()
    probes = ProbeManager(cri, on_liveness_failure=recorder.on_liveness_failure,
                          on_event=recorder.on_event, on_change=recorder.on_change)
    runner = asyncio.get_running_loop().create_task(probes.run())
    await asyncio.sleep(0)
    try:
        yield probes, recorder
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


async def eventually(check: Callable[[], bool], seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never became true")


async def test_a_failing_http_liveness_probe_asks_for_a_restart_after_failure_threshold(
        web_pod: RunningPod, manager: tuple[ProbeManager, Recorder]) -> None:
    probes, recorder = manager
    liveness = {"httpGet": {"path": "/cgi-bin/status", "port": "http"}, "failureThreshold": 3,
                **FAST}
    probes.add_pod(web_pod.pod(livenessProbe=liveness), {"main": web_pod.container_id},
                   web_pod.pod_ip)
    await asyncio.wait_for(recorder.failed.wait(), 30)
    assert recorder.liveness_failures == [(
        web_pod.uid, "main", web_pod.container_id,
        "Liveness probe failed: HTTP probe failed with statuscode: 500")]
    unhealthy = [m for reason, m in recorder.events if reason == "Unhealthy"]
    assert unhealthy == ["Liveness probe failed: HTTP probe failed with statuscode: 500"] * 3


async def test_a_liveness_probe_that_passes_never_asks_for_a_restart(
        web_pod: RunningPod, cri: CRIClient, manager: tuple[ProbeManager, Recorder]) -> None:
    probes, recorder = manager
    await cri.exec_sync(web_pod.container_id, ["sh", "-c", "echo 200 > /www/code"], 5)
    liveness = {"httpGet": {"path": "/cgi-bin/status", "port": 8080}, "failureThreshold": 1,
                **FAST}
    probes.add_pod(web_pod.pod(livenessProbe=liveness), {"main": web_pod.container_id},
                   web_pod.pod_ip)
    await asyncio.sleep(3)
    assert recorder.liveness_failures == []
    assert probes.is_ready(web_pod.uid, "main")  # no readiness probe: ready once started


async def test_readiness_follows_the_http_endpoint_both_ways(
        web_pod: RunningPod, cri: CRIClient, manager: tuple[ProbeManager, Recorder]) -> None:
    probes, recorder = manager
    readiness = {"httpGet": {"path": "/ready", "port": 8080}, "failureThreshold": 1, **FAST}
    probes.add_pod(web_pod.pod(readinessProbe=readiness), {"main": web_pod.container_id},
                   web_pod.pod_ip)
    assert not probes.is_ready(web_pod.uid, "main")
    await eventually(lambda: ("Unhealthy", "Readiness probe failed: HTTP probe failed with "
                              "statuscode: 404") in recorder.events)
    assert not probes.is_ready(web_pod.uid, "main")
    await cri.exec_sync(web_pod.container_id, ["touch", "/www/ready"], 5)
    await eventually(lambda: probes.is_ready(web_pod.uid, "main"))
    await cri.exec_sync(web_pod.container_id, ["rm", "/www/ready"], 5)
    await eventually(lambda: not probes.is_ready(web_pod.uid, "main"))
    assert recorder.liveness_failures == []
    assert recorder.changes >= 3


async def test_a_startup_probe_holds_back_liveness_until_it_succeeds(
        sleeper_pod: RunningPod, cri: CRIClient,
        manager: tuple[ProbeManager, Recorder]) -> None:
    probes, recorder = manager
    startup = {"exec": {"command": ["test", "-f", "/tmp/started"]}, "failureThreshold": 60,
               **FAST}
    liveness = {"exec": {"command": ["sh", "-c", "echo dead; exit 1"]}, "failureThreshold": 1,
                **FAST}
    probes.add_pod(sleeper_pod.pod(startupProbe=startup, livenessProbe=liveness),
                   {"main": sleeper_pod.container_id}, sleeper_pod.pod_ip)
    await eventually(lambda: sum(r == "Unhealthy" for r, _ in recorder.events) >= 2)
    assert not probes.is_started(sleeper_pod.uid, "main")
    assert not probes.is_ready(sleeper_pod.uid, "main")
    assert recorder.liveness_failures == []
    assert {m for _, m in recorder.events} == {"Startup probe failed: "}
    await cri.exec_sync(sleeper_pod.container_id, ["touch", "/tmp/started"], 5)
    await asyncio.wait_for(recorder.failed.wait(), 30)
    assert probes.is_started(sleeper_pod.uid, "main")
    assert recorder.liveness_failures[0][3] == "Liveness probe failed: dead\n"


async def test_a_startup_probe_that_never_succeeds_asks_for_a_restart(
        sleeper_pod: RunningPod, manager: tuple[ProbeManager, Recorder]) -> None:
    probes, recorder = manager
    startup = {"exec": {"command": ["sh", "-c", "echo still booting; exit 1"]},
               "failureThreshold": 2, **FAST}
    probes.add_pod(sleeper_pod.pod(startupProbe=startup), {"main": sleeper_pod.container_id},
                   sleeper_pod.pod_ip)
    await asyncio.wait_for(recorder.failed.wait(), 30)
    assert recorder.liveness_failures == [(sleeper_pod.uid, "main", sleeper_pod.container_id,
                                           "Startup probe failed: still booting\n")]
    assert not probes.is_started(sleeper_pod.uid, "main")


async def test_a_new_container_restarts_the_probes_after_a_liveness_failure(
        sleeper_pod: RunningPod, manager: tuple[ProbeManager, Recorder]) -> None:
    probes, recorder = manager
    liveness = {"exec": {"command": ["false"]}, "failureThreshold": 1, **FAST}
    probes.add_pod(sleeper_pod.pod(livenessProbe=liveness), {"main": sleeper_pod.container_id},
                   sleeper_pod.pod_ip)
    await asyncio.wait_for(recorder.failed.wait(), 30)
    await asyncio.sleep(2.5)
    assert len(recorder.liveness_failures) == 1  # on hold until the container is replaced
    recorder.failed.clear()
    probes.container_started(sleeper_pod.uid, "main", sleeper_pod.container_id, None)
    await asyncio.wait_for(recorder.failed.wait(), 30)
    assert len(recorder.liveness_failures) == 2
    probes.remove_pod(sleeper_pod.uid)
    assert not probes.is_ready(sleeper_pod.uid, "main")


EXEC_CASES = [
    pytest.param(["true"], Result.SUCCESS, "", id="exit code 0 is a success"),
    pytest.param(["sh", "-c", "echo not yet; exit 1"], Result.FAILURE, "not yet\n",
                 id="a non-zero exit code fails with the command's output"),
    pytest.param(["sh", "-c", "echo to stderr >&2; exit 7"], Result.FAILURE, "to stderr\n",
                 id="stderr counts as output"),
]


@pytest.mark.parametrize(("command", "result", "message"), EXEC_CASES)
async def test_exec_probes_are_judged_by_exit_code(
        sleeper_pod: RunningPod, cri: CRIClient, command: list[str], result: Result,
        message: str) -> None:
    outcome = await run_probe(cri, {"exec": {"command": command}, "timeoutSeconds": 5},
                              {"name": "main"}, sleeper_pod.container_id, sleeper_pod.pod_ip)
    assert (outcome.result, outcome.message) == (result, message)


async def test_an_exec_probe_that_outlives_its_timeout_fails(
        sleeper_pod: RunningPod, cri: CRIClient) -> None:
    outcome = await run_probe(cri, {"exec": {"command": ["sleep", "30"]}, "timeoutSeconds": 1},
                              {"name": "main"}, sleeper_pod.container_id, sleeper_pod.pod_ip)
    assert (outcome.result, outcome.message) == (Result.FAILURE,
                                                 'command "sleep 30" timed out')


def http(path: str, **extra: Any) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": 8080, **extra}, "timeoutSeconds": 2}


NETWORK_CASES = [
    pytest.param(http("/healthz"), Result.SUCCESS, "ok\n", id="http 200 succeeds with the body"),
    pytest.param(http("/missing"), Result.FAILURE, "HTTP probe failed with statuscode: 404",
                 id="http 404 fails with upstream's message"),
    pytest.param({"httpGet": {"path": "/", "port": "nope"}}, Result.UNKNOWN,
                 "couldn't find port: nope in main", id="an unknown named port cannot run"),
    pytest.param({"tcpSocket": {"port": 8080}}, Result.SUCCESS, "",
                 id="tcp succeeds on an open port"),
    pytest.param({"tcpSocket": {"port": 8081}}, Result.FAILURE,
                 "dial tcp {ip}:8081: connect: connection refused",
                 id="tcp fails on a closed port like Go's dialer says"),
]


@pytest.mark.parametrize(("probe", "result", "message"), NETWORK_CASES)
async def test_http_and_tcp_probes_against_busybox_httpd(
        web_pod: RunningPod, cri: CRIClient, probe: dict[str, Any], result: Result,
        message: str) -> None:
    container = web_pod.pod()["spec"]["containers"][0]
    outcome = await run_probe(cri, probe, container, web_pod.container_id, web_pod.pod_ip)
    assert (outcome.result, outcome.message) == (result, message.format(ip=web_pod.pod_ip))


REDIRECT_CASES = [
    pytest.param("/healthz", Result.SUCCESS, "ok\n",
                 id="a redirect on the same host is followed"),
    pytest.param("/missing", Result.FAILURE, "HTTP probe failed with statuscode: 404",
                 id="the followed answer decides"),
    pytest.param("http://localhost:8080/healthz", Result.WARNING,
                 "Probe terminated redirects, Response body: ",
                 id="a redirect to another host is not followed but succeeds with a warning"),
]


@pytest.mark.parametrize(("target", "result", "message"), REDIRECT_CASES)
async def test_http_probes_follow_redirects_like_upstream(
        web_pod: RunningPod, cri: CRIClient, target: str, result: Result, message: str) -> None:
    await cri.exec_sync(web_pod.container_id, ["sh", "-c", f"echo {target} > /www/to"], 5)
    container = web_pod.pod()["spec"]["containers"][0]
    outcome = await run_probe(cri, http("/cgi-bin/redirect"), container, web_pod.container_id,
                              web_pod.pod_ip)
    assert (outcome.result, outcome.message) == (result, message)
