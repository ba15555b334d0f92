"""Benchmark of `kubeadmpy init`: wall time to node Ready in a lab machine, cold and cached.

Run as root: ``python benchmarks/bench_init.py [--cached-runs N]``. In one fresh lab machine:
- cold: the first init (containerd not running, control-plane image not built, nothing imported);
- cached: `reset`, then init again (image built and imported, containerd running), N times;
each from the start of `kubeadmpy init` to the Node's Ready condition (seen by kubectl inside
the machine, timed there with its own clock), with the per-phase breakdown init prints.
Reference measured in the same run: `kubeadmpy init --dry-run` on the same machine, i.e. all of
init's file work with nothing started; the ratio shows what starting the cluster costs on top.
Anchors from issue #7 (images cached): kind ~33 s, k3s (k3d) ~20 s, minikube ~51 s. Goal: < 15 s.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kubeadmpy import lab as labs
from kubeadmpy.remote import Host

GOAL_SECONDS = 15.0
ANCHORS = {"kind": 33.0, "k3s (k3d)": 20.0, "minikube": 51.0}
PHASE_LINE = re.compile(r"^\[done\] (\S+) in ([0-9.]+)s$", re.MULTILINE)

# Timed inside the machine: no SSH round trips in the figures.
INIT_TO_READY = r"""
set -e
t0=$(date +%s.%N)
kubeadmpy init --pod-network-cidr 10.244.0.0/16 > /var/log/bench-init.log 2>&1 || {
  cat /var/log/bench-init.log; exit 1; }
t1=$(date +%s.%N)
until kubectl --kubeconfig /etc/kubernetes/admin.conf get node cp1 \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True
do sleep 0.05; done
t2=$(date +%s.%N)
cat /var/log/bench-init.log
echo "TIMES $t0 $t1 $t2"
"""
DRY_RUN = r"""
t0=$(date +%s.%N)
kubeadmpy init --dry-run --pod-network-cidr 10.244.0.0/16 >/dev/null 2>&1
t1=$(date +%s.%N)
echo "TIMES $t0 $t1"
"""


@dataclass
class InitRun:
    label: str
    init_seconds: float
    ready_seconds: float
    phases: dict[str, float] = field(default_factory=dict)


def times(output: str) -> list[float]:
    line = next(x for x in output.splitlines() if x.startswith("TIMES "))
    return [float(v) for v in line.split()[1:]]


def init_to_ready(host: Host, label: str) -> InitRun:
    result = host.run(INIT_TO_READY, timeout=600)
    if result.exit_code != 0:
        sys.exit(f"init failed ({label}):\n{result.stdout}\n{result.stderr}")
    t0, t1, t2 = times(result.stdout)
    phases = {name: float(sec) for name, sec in PHASE_LINE.findall(result.stdout)}
    return InitRun(label, t1 - t0, t2 - t0, phases)


def report(runs: list[InitRun], dry_run: float) -> None:
    print(f"\n{'run':<10}{'init exits':>12}{'node Ready':>12}{'x dry-run':>11}")
    for run in runs:
        print(f"{run.label:<10}{run.init_seconds:>11.2f}s{run.ready_seconds:>11.2f}s"
              f"{run.ready_seconds / dry_run:>10.1f}x")
    print(f"{'dry-run':<10}{dry_run:>11.2f}s{'':>12}{1.0:>10.1f}x   (reference: file work only)")
    phases = list(runs[0].phases)
    print("\nper phase (s)" + "".join(f"{run.label:>10}" for run in runs))
    for phase in phases:
        print(f"  {phase:<20}" + "".join(f"{run.phases.get(phase, 0.0):>10.2f}" for run in runs))
    print("  " + f"{'after init, to Ready':<20}" + "".join(
        f"{run.ready_seconds - run.init_seconds:>10.2f}" for run in runs))
    cached = [run.ready_seconds for run in runs if run.label.startswith("cached")]
    if cached:
        median = statistics.median(cached)
        print(f"\ncached init to node Ready, median of {len(cached)}: {median:.2f}s "
              f"(goal < {GOAL_SECONDS:.0f}s: {'met' if median < GOAL_SECONDS else 'NOT met'})")
        for name, seconds in ANCHORS.items():
            print(f"  vs {name} ~{seconds:.0f}s: {seconds / median:.1f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cached-runs", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-init-"))
    name = f"bench-init-{uuid.uuid4().hex[:6]}"
    try:
        lab = labs.up(labs.LabSpec(name=name, control_planes=1, state_root=root))
        with lab.host("cp1") as host:
            dry = times(host.run(DRY_RUN, timeout=300, check=True).stdout)
            runs = [init_to_ready(host, "cold")]
            for index in range(args.cached_runs):
                host.run("kubeadmpy reset --force", timeout=300, check=True)
                runs.append(init_to_ready(host, f"cached{index + 1}"))
            host.run("kubeadmpy reset --force", timeout=300)
        report(runs, dry[1] - dry[0])
    finally:
        labs.down(name, root)


if __name__ == "__main__":
    main()
