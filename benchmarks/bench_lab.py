"""Benchmark of the lab: `up` of 5 machines, `down`, and SSH round trips paramiko vs OpenSSH.

Run as root: ``python benchmarks/bench_lab.py``. Prints figures and ratios against references
measured in the same run (timings on shared machines are noisy; compare ratios, not absolutes):
- lab up / down of 5 machines, as a multiple of one OpenSSH login to a lab machine;
- paramiko exec of `true` on an open connection vs OpenSSH over a ControlMaster connection;
- paramiko connect + exec vs a fresh `ssh host true` (the OpenSSH client's usual cost).
Goal from issue #6: 5 machines up in under 5 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from kubeadmpy import lab as labs

MACHINES = 5
UP_DOWN_ROUNDS = 3
PERSISTENT_CALLS = 200
FRESH_CALLS = 20
GOAL_SECONDS = 5.0


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def per_call(action: Callable[[], object], calls: int) -> float:
    action()  # warm-up
    return timed(lambda: [action() for _ in range(calls)]) / calls


def bench_up_down(root: Path) -> tuple[list[float], list[float]]:
    ups, downs = [], []
    for _ in range(UP_DOWN_ROUNDS):
        name = f"bench-{uuid.uuid4().hex[:6]}"
        spec = labs.LabSpec(name=name, control_planes=1, workers=MACHINES - 1, state_root=root)
        try:
            ups.append(timed(lambda spec=spec: labs.up(spec)))  # type: ignore[misc]
        finally:
            downs.append(timed(lambda name=name: labs.down(name, root)))  # type: ignore[misc]
    return ups, downs


def bench_ssh(lab: labs.Lab) -> dict[str, float]:
    machine = lab.machine("cp1")
    ssh = lab.ssh_args(machine)
    figures: dict[str, float] = {}
    with lab.host(machine) as host:
        figures["paramiko exec on open connection"] = per_call(
            lambda: host.run("true", check=True), PERSISTENT_CALLS)

    def paramiko_fresh() -> None:
        with lab.host(machine) as fresh:
            fresh.run("true", check=True)

    figures["paramiko connect + exec"] = per_call(paramiko_fresh, FRESH_CALLS)
    figures["openssh fresh `ssh host true`"] = per_call(
        lambda: subprocess.run([*ssh, "true"], check=True), FRESH_CALLS)
    with tempfile.TemporaryDirectory() as sockets:
        control = ["-o", "ControlMaster=auto", "-o", f"ControlPath={sockets}/%C",
                   "-o", "ControlPersist=60"]
        muxed = [ssh[0], *control, *ssh[1:]]
        try:
            figures["openssh exec over ControlMaster"] = per_call(
                lambda: subprocess.run([*muxed, "true"], check=True), PERSISTENT_CALLS // 4)
        finally:
            subprocess.run([ssh[0], *control, "-O", "exit", *ssh[1:]], capture_output=True)
    return figures


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="kubeadmpy-bench-") as tmp:
        root = Path(tmp)
        ups, downs = bench_up_down(root)
        name = f"bench-{uuid.uuid4().hex[:6]}"
        lab = labs.up(labs.LabSpec(name=name, control_planes=1, workers=MACHINES - 1,
                                   state_root=root))
        try:
            ssh = bench_ssh(lab)
        finally:
            labs.down(name, root)
    login = ssh["openssh fresh `ssh host true`"]
    up_median, down_median = statistics.median(ups), statistics.median(downs)
    print(f"lab up of {MACHINES} machines: median {up_median:.3f} s "
          f"(runs: {', '.join(f'{u:.3f}' for u in ups)}) = {up_median / login:.1f}x one OpenSSH "
          f"login; goal < {GOAL_SECONDS:.0f} s: {'met' if up_median < GOAL_SECONDS else 'MISSED'} "
          f"({up_median / GOAL_SECONDS:.1%} of the goal)")
    print(f"lab down of {MACHINES} machines: median {down_median:.3f} s "
          f"(runs: {', '.join(f'{d:.3f}' for d in downs)}) = {down_median / login:.1f}x one "
          "OpenSSH login")
    for label, seconds in ssh.items():
        print(f"{label:<36} {seconds * 1000:8.2f} ms per command")
    persistent = ssh["paramiko exec on open connection"] / ssh["openssh exec over ControlMaster"]
    fresh = ssh["paramiko connect + exec"] / login
    print(f"ratio paramiko / OpenSSH, open connection: {persistent:.2f}")
    print(f"ratio paramiko / OpenSSH, new connection:  {fresh:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
