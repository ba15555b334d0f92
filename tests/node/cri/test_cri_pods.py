"""The CRI client against a real containerd + runc + bridge CNI: pods, containers, logs, exec."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import uuid
from pathlib import Path

import pytest

from kubeadmpy.cri import (
    CRIClient,
    CRINotFound,
    CRIUnavailable,
    api,
    read_log,
    remove_all_pods,
    wait_for_runtime,
)
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.images import busybox_reference, pause_reference

CRI_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}(Z|[+-]\d\d:\d\d) (stdout|stderr) (F|P) (.*)$")


def sandbox_config(runtime: ScratchContainerd, name: str) -> api.PodSandboxConfig:
    uid = str(uuid.uuid4())
    return api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=name, uid=uid, namespace="default"),
        hostname=name,
        log_directory=str(runtime.pod_log_dir / f"default_{name}_{uid}"),
        labels={"test": name},
        linux=api.LinuxPodSandboxConfig(),
    )


def container_config(name: str, command: list[str], image: str = "") -> api.ContainerConfig:
    return api.ContainerConfig(
        metadata=api.ContainerMetadata(name=name),
        image=api.ImageSpec(image=image or busybox_reference()),
        command=command,
        log_path=f"{name}/0.log",
    )


async def wait_exited(client: CRIClient, container_id: str) -> api.ContainerStatus:
    for _ in range(600):
        status = (await client.container_status(container_id)).status
        if status.state == api.CONTAINER_EXITED:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"container {container_id} did not exit")


async def run_pod(client: CRIClient, runtime: ScratchContainerd, name: str,
                  command: list[str], image: str = "") -> tuple[str, str, api.PodSandboxConfig]:
    config = sandbox_config(runtime, name)
    sandbox = await client.run_pod_sandbox(config)
    await runtime.remember_netns(client, sandbox)
    container = await client.create_container(sandbox, container_config(name, command, image),
                                              config)
    await client.start_container(container)
    return sandbox, container, config


async def remove_pod(client: CRIClient, sandbox: str, container: str) -> None:
    await client.stop_container(container, 5)
    await client.remove_container(container)
    await client.stop_pod_sandbox(sandbox)
    await client.remove_pod_sandbox(sandbox)


async def test_version_reports_containerd_over_cri_v1(runtime: ScratchContainerd) -> None:
    async with CRIClient(runtime.endpoint) as client:
        version = await client.version()
        status = await client.status()
    assert (version.runtime_name, version.runtime_api_version) == ("containerd", "v1")
    conditions = {c.type: c.status for c in status.status.conditions}
    assert conditions == {"RuntimeReady": True, "NetworkReady": True}


async def test_local_images_are_visible_through_the_image_service(
        runtime: ScratchContainerd) -> None:
    async with CRIClient(runtime.endpoint) as client:
        busybox = await client.image_status(busybox_reference())
        missing = await client.image_status("kubeadmpy.local/no-such-image:1")
        tags = {tag for image in await client.list_images() for tag in image.repo_tags}
    assert busybox is not None and busybox.id.startswith("sha256:")
    assert missing is None
    assert {busybox_reference(), pause_reference()} <= tags


async def test_a_busybox_pod_gets_an_address_and_writes_cri_formatted_logs(
        runtime: ScratchContainerd) -> None:
    async with CRIClient(runtime.endpoint) as client:
        sandbox, container, config = await run_pod(
            client, runtime, "logger", ["sh", "-c", "echo hello; echo oops >&2; echo world"])
        try:
            status = (await client.pod_sandbox_status(sandbox)).status
            exited = await wait_exited(client, container)
        finally:
            await remove_pod(client, sandbox, container)
    assert status.state == api.SANDBOX_READY
    assert ipaddress.ip_address(status.network.ip) in ipaddress.ip_network(runtime.subnet)
    assert exited.exit_code == 0
    log = (Path(config.log_directory) / "logger" / "0.log").read_text().splitlines()
    parsed = [CRI_LOG_LINE.match(line) for line in log]
    assert all(parsed), log
    assert sorted((m.group(2), m.group(3), m.group(4)) for m in parsed if m) == [
        ("stderr", "F", "oops"), ("stdout", "F", "hello"), ("stdout", "F", "world")]


async def test_a_line_longer_than_the_runtime_limit_is_split_and_read_back_whole(
        runtime: ScratchContainerd) -> None:
    long_line = "x" * 40000  # containerd's max_container_log_line_size is 16 KiB
    async with CRIClient(runtime.endpoint) as client:
        sandbox, container, config = await run_pod(
            client, runtime, "longline", ["sh", "-c", f"echo {long_line}; echo tail"])
        try:
            await wait_exited(client, container)
        finally:
            await remove_pod(client, sandbox, container)
    text = (Path(config.log_directory) / "longline" / "0.log").read_text()
    assert " stdout P " in text
    lines = read_log(text)
    assert [(line.stream, line.text) for line in lines] == [("stdout", long_line),
                                                            ("stdout", "tail")]
    assert lines[0].time <= lines[1].time


async def test_exec_sync_returns_output_and_exit_code(runtime: ScratchContainerd) -> None:
    async with CRIClient(runtime.endpoint) as client:
        sandbox, container, _ = await run_pod(client, runtime, "execer", ["sleep", "3600"])
        try:
            ok = await client.exec_sync(container, ["sh", "-c", "echo out; echo err >&2"], 10)
            failing = await client.exec_sync(container, ["sh", "-c", "exit 3"], 10)
            hostname = await client.exec_sync(container, ["hostname"], 10)
        finally:
            await remove_pod(client, sandbox, container)
    assert (ok.stdout, ok.stderr, ok.exit_code) == (b"out\n", b"err\n", 0)
    assert failing.exit_code == 3
    assert hostname.stdout == b"execer\n"


async def test_streaming_calls_hand_out_urls_of_the_runtime_stream_server(
        runtime: ScratchContainerd) -> None:
    async with CRIClient(runtime.endpoint) as client:
        sandbox, container, _ = await run_pod(client, runtime, "streamer", ["sleep", "3600"])
        try:
            exec_url = await client.exec_url(container, ["sh"], stdin=True, tty=True)
            attach_url = await client.attach_url(container)
        finally:
            await remove_pod(client, sandbox, container)
    assert re.match(r"^http://127\.0\.0\.1:\d+/exec/\S+$", exec_url)
    assert re.match(r"^http://127\.0\.0\.1:\d+/attach/\S+$", attach_url)


async def test_stop_and_remove_leave_no_container_sandbox_or_network_namespace(
        runtime: ScratchContainerd) -> None:
    async with CRIClient(runtime.endpoint) as client:
        sandbox, container, _ = await run_pod(client, runtime, "shortlived", ["sleep", "3600"])
        netns = await runtime.remember_netns(client, sandbox)
        assert await asyncio.to_thread(os.path.exists, netns)
        await remove_pod(client, sandbox, container)
        labelled = api.PodSandboxFilter(label_selector={"test": "shortlived"})
        assert await client.list_pod_sandbox(labelled) == []
        assert [c for c in await client.list_containers() if c.id == container] == []
        with pytest.raises(CRINotFound):
            await client.container_status(container)
    assert not await asyncio.to_thread(os.path.exists, netns)


async def test_the_pause_image_exits_on_sigterm_without_being_killed(
        runtime: ScratchContainerd) -> None:
    async with CRIClient(runtime.endpoint) as client:
        sandbox, container, _ = await run_pod(client, runtime, "pauser", [],
                                              image=pause_reference())
        try:
            assert (await client.container_status(container)).status.state == \
                api.CONTAINER_RUNNING
            await client.stop_container(container, 30)
            status = (await client.container_status(container)).status
        finally:
            await remove_pod(client, sandbox, container)
    # SIGKILL after the grace period would show as 137; the trap exits 0 on SIGTERM.
    assert status.exit_code == 0


async def test_unknown_ids_raise_not_found(runtime: ScratchContainerd) -> None:
    async with CRIClient(runtime.endpoint) as client:
        with pytest.raises(CRINotFound):
            await client.pod_sandbox_status("0" * 64)
        with pytest.raises(CRINotFound):
            await client.exec_sync("0" * 64, ["true"], 1)


async def test_a_socket_nobody_serves_is_reported_unavailable(tmp_path: Path) -> None:
    with pytest.raises(CRIUnavailable, match="no answer"):
        await wait_for_runtime(str(tmp_path / "nothing.sock"), 0.5)


async def test_resources_can_be_changed_and_stats_and_log_reopening_work(
        runtime: ScratchContainerd) -> None:
    limit = 64 * 1024 * 1024
    ticker = ["sh", "-c", "while :; do echo tick; sleep 0.1; done"]
    async with CRIClient(runtime.endpoint) as client:
        sandbox, container, config = await run_pod(client, runtime, "resized", ticker)
        try:
            await client.update_container_resources(
                container, api.LinuxContainerResources(memory_limit_in_bytes=limit))
            seen = await client.exec_sync(
                container, ["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"], 10)
            stats = await client.container_stats(container)
            listed = await client.list_container_stats()
            log = Path(config.log_directory) / "resized" / "0.log"
            rotated = log.with_suffix(".rotated")
            await asyncio.to_thread(log.rename, rotated)
            await client.reopen_container_log(container)
            for _ in range(100):  # the runtime copies container output asynchronously
                if "tick" in await asyncio.to_thread(log.read_text):
                    break
                await asyncio.sleep(0.05)
            fs_info = await client.image_fs_info()
        finally:
            await remove_pod(client, sandbox, container)
    assert int(seen.stdout) == limit
    assert stats.attributes.id == container and stats.memory.working_set_bytes.value > 0
    assert container in {s.attributes.id for s in listed}
    assert "tick" in await asyncio.to_thread(rotated.read_text)
    assert "tick" in await asyncio.to_thread(log.read_text)  # written after the reopen
    (image_fs,) = fs_info.image_filesystems  # usage is sampled every 10 s: only where it is
    assert image_fs.fs_id.mountpoint.startswith(str(runtime.base / "root"))


async def test_the_pause_image_reaps_orphans_of_a_shared_pid_namespace(
        runtime: ScratchContainerd) -> None:
    # The sandbox's default PID mode is POD: orphans of the container are re-parented to
    # /pause (PID 1), which must reap them or they stay zombies.
    async with CRIClient(runtime.endpoint) as client:
        sandbox, container, _ = await run_pod(
            client, runtime, "orphans", ["sh", "-c", "(sleep 0.2 &); (sleep 0.2 &); exec sleep 3600"])
        try:
            for _ in range(100):
                table = await client.exec_sync(container, ["ps", "-o", "pid,ppid,stat,args"], 10)
                rows = [line.split() for line in table.stdout.decode().splitlines()[1:]]
                # A zombie has no args left, so match by parent and state as well as by name.
                adopted = [row for row in rows if row[1] == "1" and (
                    row[2].startswith("Z") or row[3:] == ["sleep", "0.2"])]
                if not adopted or any(row[2].startswith("Z") for row in adopted):
                    break
                await asyncio.sleep(0.1)
        finally:
            await remove_pod(client, sandbox, container)
    assert rows[0][0] == "1" and rows[0][-1] == "/pause"
    assert adopted == [], table.stdout.decode()  # exited and reaped, no zombie left


async def test_remove_all_pods_empties_the_runtime_and_counts_what_it_removed(
        runtime: ScratchContainerd) -> None:
    async with CRIClient(runtime.endpoint) as client:
        for name in ("reset-a", "reset-b"):
            await run_pod(client, runtime, name, ["sleep", "3600"])
        report = await remove_all_pods(client)
        assert await client.list_pod_sandbox() == []
        assert await client.list_containers() == []
    assert (report.containers, report.sandboxes, report.left) == (2, 2, [])
