"""Benchmark: every file `kubeadmpy init` writes before anything runs, vs the openssl CLI.

kubeadmpy side: the init workflow's file phases in-process — certs (3 CAs, 7 leaves, sa),
kubeconfig (5 files), etcd and control-plane manifests, kubelet config — into a fresh root,
exactly as `kubeadmpy init --skip-phases preflight,wait-control-plane,...` would write them.
Reference, measured in the same run: the openssl CLI producing the same keys and certificates
(no manifests; see bench_pki.py). Prints medians and the ratio for ECDSA-P256 and RSA-2048.
Target (issue: foundation): the full ECDSA set under 0.3 s and faster than the openssl CLI.

    python benchmarks/bench_init_files.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_pki import openssl_round

from kubeadmpy.config import load_init_config
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.init import InitContext, init_workflow

FILE_PHASES = ("certs", "kubeconfig", "etcd", "control-plane", "kubelet-start")

CONFIG = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint: {{advertiseAddress: 10.0.0.10}}
nodeRegistration: {{name: cp1}}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
encryptionAlgorithm: {algorithm}
networking: {{podSubnet: 10.244.0.0/16}}
"""


def kubeadmpy_round(algorithm: str, work: Path) -> None:
    bundle = load_init_config(None, text=CONFIG.format(algorithm=algorithm))
    ctx = InitContext(bundle=bundle, paths=HostPaths(work), dry_run=True, out=lambda _: None)
    workflow = init_workflow()
    for phase in FILE_PHASES:
        workflow.run(ctx, only=phase)
    assert (work / "etc/kubernetes/manifests/kube-apiserver.yaml").is_file()


def median_seconds(round_fn: Callable[[str, Path], None], algorithm: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            round_fn(algorithm, Path(tmp))
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    print(f"init file phases ({', '.join(FILE_PHASES)}); median of {rounds} rounds")
    print(f"{'algorithm':<12}{'kubeadmpy':>12}{'openssl CLI':>14}{'speed-up':>11}")
    for algorithm in ("ECDSA-P256", "RSA-2048"):
        ours = median_seconds(kubeadmpy_round, algorithm, rounds)
        reference = median_seconds(openssl_round, algorithm, rounds)
        print(f"{algorithm:<12}{ours * 1000:>10.1f}ms{reference * 1000:>12.1f}ms{reference / ours:>10.1f}x")


if __name__ == "__main__":
    main()
