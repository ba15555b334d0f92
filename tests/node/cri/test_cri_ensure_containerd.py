"""ensure_containerd: config written, containerd started by the supervisor, idempotent reruns."""

from __future__ import annotations

import asyncio
import dataclasses
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeadmpy.cri import wait_for_runtime
from kubeadmpy.cri.containerd_setup import (
    ContainerdStartError,
    ensure_containerd,
    ensure_containerd_async,
    stop_containerd,
)
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.paths import CONTAINERD_CONFIG
from kubeadmpy.render import needs_restrict_oom_score_adj
from kubeadmpy.supervisor import ProcessSpec, Supervisor


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[ScratchContainerd]:
    """A scratch runtime whose containerd each test starts itself."""
    scratch = ScratchContainerd(tmp_path / "ctd")
    scratch.base.mkdir()
    scratch._write_cni_config()
    try:
        yield scratch
    finally:
        problems = asyncio.run(scratch.close())
        assert not problems, problems


async def test_containerd_starts_answers_cri_and_a_rerun_changes_nothing(
        fresh: ScratchContainerd) -> None:
    first = await ensure_containerd_async(fresh.paths, fresh.values(), use_systemd=False)
    fresh.status = first
    assert (first.managed_by, first.started, first.config_changed) == ("supervisor", True, True)
    assert first.endpoint == fresh.endpoint and first.runtime_api_version == "v1"
    config = tomllib.loads(fresh.paths.host(CONTAINERD_CONFIG).read_text())
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == "kubeadmpy.local/pause:3.10"
    assert cri["cni"]["bin_dir"] == "/usr/lib/cni"
    assert cri.get("restrict_oom_score_adj", False) == needs_restrict_oom_score_adj()
    supervised = Supervisor(fresh.paths).status("containerd")
    assert supervised.running and supervised.pid == first.pid

    again = await ensure_containerd_async(fresh.paths, fresh.values(), use_systemd=False)
    assert (again.started, again.config_changed, again.pid) == (False, False, first.pid)


async def test_a_changed_config_restarts_containerd(fresh: ScratchContainerd) -> None:
    first = await ensure_containerd_async(fresh.paths, fresh.values(), use_systemd=False)
    fresh.status = first
    changed = dataclasses.replace(fresh.values(), sandbox_image="kubeadmpy.local/pause:3.9")
    second = await ensure_containerd_async(fresh.paths, changed, use_systemd=False)
    assert (second.started, second.config_changed) == (True, True)
    assert second.pid != first.pid


async def test_a_containerd_that_cannot_start_is_reported_with_its_log(
        fresh: ScratchContainerd) -> None:
    blocker = fresh.base / "root-is-a-file"
    blocker.write_text("not a folder")
    broken = dataclasses.replace(fresh.values(), root_dir=str(blocker))
    with pytest.raises(ContainerdStartError, match="last log lines"):
        await ensure_containerd_async(fresh.paths, broken, use_systemd=False, wait_seconds=20)


def test_the_synchronous_entry_point_serves_the_phase_runner(fresh: ScratchContainerd) -> None:
    status = ensure_containerd(fresh.paths, fresh.values(), use_systemd=False)
    fresh.status = status
    assert status.started and status.runtime_name == "containerd"
    assert stop_containerd(fresh.paths) is True
    assert Supervisor(fresh.paths).status("containerd").running is False


async def test_a_containerd_started_by_someone_else_is_used_but_never_doubled(
        fresh: ScratchContainerd) -> None:
    first = await ensure_containerd_async(fresh.paths, fresh.values(), use_systemd=False)
    fresh.status = first
    supervisor = Supervisor(fresh.paths)
    argv = supervisor.status("containerd").argv
    supervisor.stop("containerd")
    supervisor.forget("containerd")
    supervisor.start(ProcessSpec("someone-elses-containerd", argv))  # not kubeadmpy's name
    try:
        await wait_for_runtime(fresh.socket, 20)
        reused = await ensure_containerd_async(fresh.paths, fresh.values(), use_systemd=False)
        assert (reused.managed_by, reused.started) == ("external", False)
        changed = dataclasses.replace(fresh.values(), sandbox_image="kubeadmpy.local/pause:3.9")
        with pytest.raises(ContainerdStartError, match="did not start already serves"):
            await ensure_containerd_async(fresh.paths, changed, use_systemd=False)
        assert supervisor.status("containerd").running is False
    finally:
        supervisor.stop("someone-elses-containerd")
