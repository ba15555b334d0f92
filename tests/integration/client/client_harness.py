"""Helpers for the client tests (a uniquely named module: test folders share `conftest`).

They build on the apiserver suite's harness (real etcd + kubeadmpy-apiserver), imported from
tests/integration/apiserver rather than copied.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apiserver"))

from apiserver_harness import APIServerProcess, Certs, Cluster, Etcd

from kubeadmpy.client import Client, load_kubeconfig


@dataclass
class SmallWindowAPIServer(APIServerProcess):
    """An apiserver that keeps only a few events per resource, so old resourceVersions expire
    (410 Gone) after a handful of writes instead of ten thousand."""

    window: int = 5

    def args(self) -> list[str]:
        return [*super().args(), f"--watch-cache-window={self.window}"]


def start_small_window_cluster(workdir: Path, certs: Certs, window: int = 5) -> Cluster:
    etcd = Etcd(certs, workdir / "etcd-data")
    apiserver = SmallWindowAPIServer(certs, etcd, workdir, window=window)
    try:
        etcd.start()
        apiserver.start()
    except BaseException:
        apiserver.stop()
        etcd.stop()
        raise
    kubeconfig = workdir / "admin.conf"
    kubeconfig.write_text(certs.kubeconfig(apiserver.url))
    return Cluster(certs, etcd, apiserver, kubeconfig, workdir)


def client_for(cluster: Cluster) -> Client:
    # No client-side throttling in tests: the rate limiter has its own unit tests.
    return Client(load_kubeconfig(cluster.kubeconfig).with_overrides(qps=0))
