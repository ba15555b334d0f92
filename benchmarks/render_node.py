"""How long rendering every file of a control-plane node takes, against plain serialisation.

Reference, measured in the same run: PyYAML's safe dump (libyaml when available) of the same four pods and kubelet config
(already computed dicts, no template, no parse-back check). The ratio says what the template
layout plus the parse-back validation costs per node; both figures are printed.

    python benchmarks/render_node.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import yaml

from kubeadmpy.render import ContainerdValues, ControlPlaneValues, KubeletValues, render_node


def best_of(rounds: int, work: Callable[[], Any], repeat: int = 5) -> float:
    """Median over `repeat` runs of the mean seconds per call of `work` over `rounds` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(rounds):
            work()
        samples.append((time.perf_counter() - start) / rounds)
    return statistics.median(samples)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    control_plane = ControlPlaneValues(flavor="upstream", kubernetes_version="v1.33.0",
                                       advertise_address="10.0.0.10", node_name="cp-1",
                                       pod_subnet="10.244.0.0/16")
    kubelet = KubeletValues(flavor="upstream", node_name="cp-1", hostname="cp-1")
    containerd = ContainerdValues(sandbox_image="registry.k8s.io/pause:3.10")

    def render() -> None:
        render_node(kubelet, containerd, control_plane)

    documents = [yaml.safe_load(f.content) for path, f in
                 render_node(kubelet, containerd, control_plane).items()
                 if path.suffix == ".yaml"]

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    def dump() -> None:
        for document in documents:
            yaml.dump(document, Dumper=dumper)

    render()  # warm the template cache, as a long-lived process would be
    rendered, reference = best_of(rounds, render), best_of(rounds, dump)
    print(f"render_node (10 files, parsed back):   {rendered * 1e3:8.2f} ms per node")
    print(f"safe dump of the 5 YAML documents:     {reference * 1e3:8.2f} ms per node")
    print(f"ratio render/dump:                     {rendered / reference:8.2f}")


if __name__ == "__main__":
    main()
