"""Local images in a real containerd: reproducible, cached, imported once, and runnable."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from kubeadmpy.cri import CRIClient, api
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.images import (
    build_cached,
    busybox_recipe,
    containerd_image_digests,
    ensure_image,
    pause_recipe,
)
from kubeadmpy.images.controlplane import console_scripts, control_plane_recipe


def test_building_twice_gives_the_same_digest_and_the_second_build_is_a_cache_hit(
        tmp_path: Path) -> None:
    first = build_cached(pause_recipe(), tmp_path / "one")
    elsewhere = build_cached(pause_recipe(), tmp_path / "two")
    again = build_cached(pause_recipe(), tmp_path / "one")
    assert first.manifest_digest == elsewhere.manifest_digest == again.manifest_digest
    assert (first.cache_hit, elsewhere.cache_hit, again.cache_hit) == (False, False, True)
    assert first.layout.index == elsewhere.layout.index
    assert [b.digest for b in first.layout.layers] == [b.digest for b in elsewhere.layout.layers]


def test_images_are_imported_once_under_their_names(bare_runtime: ScratchContainerd) -> None:
    first = ensure_image(busybox_recipe(), bare_runtime.paths, bare_runtime.socket)
    second = ensure_image(busybox_recipe(), bare_runtime.paths, bare_runtime.socket)
    assert (first.imported, second.imported) == (True, False)
    assert second.image.cache_hit
    held = containerd_image_digests(bare_runtime.socket)
    assert held[first.image.reference] == first.image.manifest_digest


async def run_to_completion(runtime: ScratchContainerd, image: str,
                            command: list[str]) -> tuple[int, str]:
    """Run `command` in a one-container pod; its exit code and its log."""
    uid = str(uuid.uuid4())
    config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name="probe", uid=uid, namespace="default"),
        log_directory=str(runtime.pod_log_dir / uid), linux=api.LinuxPodSandboxConfig())
    async with CRIClient(runtime.endpoint) as client:
        sandbox = await client.run_pod_sandbox(config)
        await runtime.remember_netns(client, sandbox)
        try:
            container = await client.create_container(sandbox, api.ContainerConfig(
                metadata=api.ContainerMetadata(name="main"), image=api.ImageSpec(image=image),
                command=command, log_path="main.log"), config)
            await client.start_container(container)
            for _ in range(1200):
                status = (await client.container_status(container)).status
                if status.state == api.CONTAINER_EXITED:
                    break
                await asyncio.sleep(0.05)
            await client.remove_container(container)
        finally:
            await client.stop_pod_sandbox(sandbox)
            await client.remove_pod_sandbox(sandbox)
    log = (Path(config.log_directory) / "main.log").read_text()
    return status.exit_code, "\n".join(line.split(" ", 3)[3] for line in log.splitlines())


async def test_the_control_plane_image_runs_every_component_and_etcd(
        bare_runtime: ScratchContainerd) -> None:
    ensure_image(pause_recipe(), bare_runtime.paths, bare_runtime.socket)
    result = ensure_image(control_plane_recipe(), bare_runtime.paths, bare_runtime.socket)
    code, output = await run_to_completion(bare_runtime, result.image.reference, [
        "sh", "-c",
        "kubeadmpy version -o short"
        " && for s in /usr/local/bin/kubeadmpy*; do"
        "      $s --help >/dev/null 2>&1 && echo help-ok ${s##*/} || echo help-failed ${s##*/};"
        "    done"
        " && python3 -c 'import kubeadmpy.apiserver.main, grpc, cryptography; print(\"imports-ok\")'"
        " && python3 -c 'from kubeadmpy.machinery.schema import definitions as d; d.load();"
        " print(\"schemas-ok\")'"
        " && etcd --version | head -1"])
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].startswith("v")
    assert {"imports-ok", "schemas-ok"} <= set(lines)
    helped = {line.split()[1] for line in lines if line.startswith("help-")}
    assert helped == set(console_scripts()), output
    assert not [line for line in lines if line.startswith("help-failed")], output
    assert lines[-1].startswith("etcd Version: 3.")
