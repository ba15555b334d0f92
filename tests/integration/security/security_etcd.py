"""A private, plain-HTTP etcd on loopback for the security integration tests.

Values go in and out through etcd's JSON gateway (/v3/kv/*, base64 keys and values), so binary
ciphertext is stored byte for byte; `etcdctl` is the independent reader a user would use.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Etcd:
    data_dir: Path
    client_port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(self.url + path, json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def put(self, key: bytes, value: bytes) -> None:
        self._call("/v3/kv/put", {"key": base64.b64encode(key).decode(),
                                  "value": base64.b64encode(value).decode()})

    def get(self, key: bytes) -> bytes | None:
        kvs = self._call("/v3/kv/range", {"key": base64.b64encode(key).decode()}).get("kvs")
        return base64.b64decode(kvs[0]["value"]) if kvs else None

    def items(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        end = prefix[:-1] + bytes([prefix[-1] + 1])
        kvs = self._call("/v3/kv/range", {"key": base64.b64encode(prefix).decode(),
                                          "range_end": base64.b64encode(end).decode()})
        return [(base64.b64decode(kv["key"]), base64.b64decode(kv.get("value", "")))
                for kv in kvs.get("kvs", [])]

    def revision(self) -> int:
        return int(self._call("/v3/kv/range", {"key": base64.b64encode(b"\0").decode()})
                   ["header"]["revision"])

    def etcdctl_get(self, key: str) -> bytes:
        return subprocess.run(["etcdctl", f"--endpoints={self.url}", "get", key],
                              capture_output=True, check=True, timeout=30,
                              env={**os.environ, "ETCDCTL_API": "3"}).stdout


def start_etcd(directory: Path) -> Etcd:
    client, peer = free_port(), free_port()
    log = (directory / "etcd.log").open("wb")
    proc = subprocess.Popen(
        ["etcd", "--name", "sec", "--data-dir", str(directory / "data"),
         "--listen-client-urls", f"http://127.0.0.1:{client}",
         "--advertise-client-urls", f"http://127.0.0.1:{client}",
         "--listen-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"sec=http://127.0.0.1:{peer}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    etcd = Etcd(directory / "data", client, proc)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{etcd.url}/health", timeout=2) as response:
                if json.loads(response.read()).get("health") == "true":
                    return etcd
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_etcd(etcd)
            raise RuntimeError("etcd did not start: " + (directory / "etcd.log").read_text())
        time.sleep(0.1)


def stop_etcd(etcd: Etcd) -> None:
    if etcd.proc.poll() is None:
        os.killpg(etcd.proc.pid, signal.SIGTERM)
        try:
            etcd.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(etcd.proc.pid, signal.SIGKILL)
            etcd.proc.wait(10)
