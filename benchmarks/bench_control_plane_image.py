"""The two ways to ship the python control plane in an image, measured side by side.

A. self-contained: interpreter + shared libraries + trimmed stdlib + the project's
   distributions + kubeadmpy, byte code compiled in (kubeadmpy.images.controlplane).
B. tiny: the busybox image, with the host's Python prefix, the project folder and the system
   library folder bind-mounted read-only (what a static pod would do with hostPath volumes).

For each: build time (cold and cached), import time into containerd, archive size, and the time
to start a container and import kubeadmpy.apiserver.main in it (median of 5), plus the same
import on the host as the reference. Runs on a private containerd removed at the end.

    python benchmarks/bench_control_plane_image.py
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import kubeadmpy
from kubeadmpy.cri.scratch import ScratchContainerd
from kubeadmpy.images import build_cached, busybox_recipe, import_image
from kubeadmpy.images.controlplane import control_plane_recipe

IMPORT = "import kubeadmpy.apiserver.main"
RUNS = 5


def timed(action: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()  # type: ignore[operator]
    return time.perf_counter() - started, result


Mounts = list[tuple[str, str]]  # (host path, container path)


def ctr_run(runtime: ScratchContainerd, image: str, argv: list[str], mounts: Mounts,
            env: tuple[str, ...] = ()) -> float:
    """Seconds for `ctr run --rm` of argv (container start + the command + removal)."""
    name = f"cpbench-{time.monotonic_ns()}"
    command = ["ctr", "--address", runtime.socket, "--namespace", "k8s.io", "run", "--rm"]
    for variable in env:
        command += ["--env", variable]
    for source, target in mounts:
        command += ["--mount", f"type=bind,src={source},dst={target},options=rbind:ro"]
    started = time.perf_counter()
    done = subprocess.run([*command, image, name, *argv], check=False, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv} in {image} failed: {done.stderr.strip()}")
    return elapsed


def median_run(runtime: ScratchContainerd, image: str, argv: list[str],
               mounts: Mounts, env: tuple[str, ...] = ()) -> float:
    return statistics.median(ctr_run(runtime, image, argv, mounts, env) for _ in range(RUNS))


def host_import() -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORT], check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-cp-") as scratch_dir:
        runtime = ScratchContainerd(Path(scratch_dir) / "ctd")
        try:
            await runtime.start(images=False)
            cache = Path(scratch_dir) / "cache"
            cold_a, image_a = timed(lambda: build_cached(control_plane_recipe(), cache))
            # The second build is the one imported: in a tree being edited its key can differ.
            warm_a, image_a = timed(lambda: build_cached(control_plane_recipe(), cache))
            load_a, _ = timed(lambda: import_image(image_a, runtime.socket))  # type: ignore[arg-type]
            cold_b, image_b = timed(lambda: build_cached(busybox_recipe(), cache))
            warm_b, image_b = timed(lambda: build_cached(busybox_recipe(), cache))
            load_b, _ = timed(lambda: import_image(image_b, runtime.socket))  # type: ignore[arg-type]
            run_a = median_run(runtime, image_a.reference, ["python3", "-c", IMPORT], [])  # type: ignore[attr-defined]
            prefix = sysconfig.get_config_var("prefix")
            project = str(Path(kubeadmpy.__file__).parent.parent)
            # The loader (/lib64 -> /lib/x86_64-linux-gnu) and libc come from the host too.
            mounts_b = [(prefix, prefix), (project, project), ("/lib64", "/lib64"),
                        ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu")]
            run_b = median_run(runtime, image_b.reference,  # type: ignore[attr-defined]
                               [f"{prefix}/bin/python3", "-c", IMPORT], mounts_b,
                               (f"PYTHONPATH={project}",))
            baseline = median_run(runtime, image_b.reference, ["true"], [])  # type: ignore[attr-defined]
        finally:
            await runtime.close()
    host = host_import()
    print("control-plane image options (median of 5 container runs where stated)")
    print(f"{'':34}{'A self-contained':>20}{'B tiny + host mounts':>24}")
    print(f"{'build, cold (s)':34}{cold_a:20.2f}{cold_b:24.2f}")
    print(f"{'build, cached (s)':34}{warm_a:20.2f}{warm_b:24.2f}")
    print(f"{'ctr import (s)':34}{load_a:20.2f}{load_b:24.2f}")
    print(f"{'image size (MB)':34}{image_a.size / 1e6:20.1f}{image_b.size / 1e6:24.1f}")  # type: ignore[attr-defined]
    print(f"{'run + ' + IMPORT[:21] + '.. (s)':34}{run_a:20.3f}{run_b:24.3f}")
    print(f"{'host paths in each manifest':34}{0:20d}{len(mounts_b):24d}")
    print(f"reference: ctr run of `true` {baseline:.3f} s; host import {host:.3f} s")
    print(f"import in container minus `true`: A {run_a - baseline:.3f} s, "
          f"B {run_b - baseline:.3f} s, host {host:.3f} s")


if __name__ == "__main__":
    asyncio.run(main())
