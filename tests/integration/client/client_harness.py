"""Helpers for the client tests (a uniquely named module: test folders share `conftest`).

They build on the apiserver suite's harness (real etcd + kubeadmpy-apiserver), imported from
tests/integration/apiserver rather than copied.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@contextlib.asynccontextmanager
async def running(coroutine: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    """Run `coroutine` in a task group for the block's duration; cancelled on the way out."""
    async with asyncio.TaskGroup() as group:
        task = group.create_task(coroutine)
        try:
            yield task
        finally:
            task.cancel()


async def eventually(check: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    """Wait until `check()` holds (a state, not a timing: the limit only stops a hung test)."""
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not reached within {seconds}s")


@contextlib.contextmanager
def second_apiserver(cluster: Cluster) -> Iterator[Path]:
    """Another kubeadmpy-apiserver on the same etcd (writes while the first one is down);
    yields its kubeconfig."""
    other = APIServerProcess(cluster.certs, cluster.etcd, cluster.workdir)
    try:
        other.start()
        kubeconfig = cluster.workdir / f"second-{other.port}.conf"
        kubeconfig.write_text(cluster.certs.kubeconfig(other.url))
        yield kubeconfig
    finally:
        other.stop()
