"""kubeadmpy-dns as a real process for the integration tests: started with a kubeconfig for the
test apiserver, a resolv.conf naming a FakeResolver on 127.0.0.x:53, and its probes on free
loopback ports; stopped (and the fake resolver with it) also when a test fails."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from apiserver_harness import Cluster, free_port, wait_until
from fake_resolver import FakeResolver


@dataclass
class RunningDns:
    process: subprocess.Popen[str]
    port: int
    health: int
    ready: int
    log: Path
    upstream: FakeResolver

    def get(self, port: int, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


@contextlib.contextmanager
def launched(cluster: Cluster, workdir: Path) -> Iterator[RunningDns]:
    """kubeadmpy-dns on 127.0.0.1:<free port>, forwarding to a FakeResolver, until /ready;
    both stopped on the way out, also on failure."""
    if os.geteuid() != 0:
        pytest.skip("the fake resolver binds port 53")
    upstream = FakeResolver()
    process = None
    try:
        resolv_conf = workdir / "resolv.conf"
        resolv_conf.write_text(f"search example.org\nnameserver {upstream.address}\n")
        port, health, ready = free_port(), free_port(), free_port()
        log = workdir / "dns.log"
        with log.open("w") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "kubeadmpy.dns.main", f"--kubeconfig={cluster.kubeconfig}",
                 f"--listen=127.0.0.1:{port}", f"--resolv-conf={resolv_conf}",
                 "--forward-timeout=300ms", f"--health-listen=127.0.0.1:{health}",
                 f"--ready-listen=127.0.0.1:{ready}"],
                stdout=sink, stderr=subprocess.STDOUT, text=True)
        running = RunningDns(process, port, health, ready, log, upstream)
        try:
            wait_until(lambda: running.get(ready, "/ready")[0] == 200, "kubeadmpy-dns /ready")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{log.read_text()}") from exc
        yield running
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        upstream.close()
