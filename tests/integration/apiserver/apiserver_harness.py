"""Building blocks for the apiserver tests: real etcd (Debian's, TLS), kubeadmpy-apiserver as a
subprocess, certificates from kubeadmpy.pki, and a kubectl runner per version.

Certificates come from kubeadmpy.pki exactly as `kubeadmpy init` makes them; every process runs
on free loopback ports in a temp dir and is killed in a finally, also when a test fails.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeadmpy import pki

KUBECTL_VERSIONS = {
    "1.27": "/usr/lib/google-cloud-sdk/bin/kubectl.1.27",
    "1.33": "/usr/lib/google-cloud-sdk/bin/kubectl.1.33",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Any, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not become ready: {last}")


@dataclass
class Certs:
    dir: Path
    settings: pki.PKISettings

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def kubeconfig(self, server: str, user: str = "kubernetes-admin",
                   groups: tuple[str, ...] = ("system:masters",)) -> str:
        return pki.kubeconfig_for_user(user, list(groups), self.settings, self.dir,
                                       server=server)


def make_certs(directory: Path) -> Certs:
    settings = pki.PKISettings(node_name="node1", advertise_address="127.0.0.1",
                               etcd_server_cert_sans=("127.0.0.1",))
    pki.ensure_certs(settings, directory)
    return Certs(directory, settings)


@dataclass
class Process:
    args: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(self.args, stdout=handle, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        handle.close()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Etcd:
    certs: Certs
    data_dir: Path
    client_port: int = field(default_factory=free_port)
    peer_port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.client_port}"

    def start(self) -> None:
        c = self.certs
        self.process = Process([
            "etcd", "--name", "node1", "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", f"http://127.0.0.1:{self.peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_port}",
            "--initial-cluster", f"node1=http://127.0.0.1:{self.peer_port}",
            "--cert-file", c.path("etcd/server.crt"), "--key-file", c.path("etcd/server.key"),
            "--trusted-ca-file", c.path("etcd/ca.crt"), "--client-cert-auth",
            "--experimental-watch-progress-notify-interval", "2s",
        ], self.data_dir.parent / f"etcd-{self.client_port}.log")
        self.process.start()
        context = ssl.create_default_context(cafile=c.path("etcd/ca.crt"))
        context.load_cert_chain(c.path("apiserver-etcd-client.crt"),
                                c.path("apiserver-etcd-client.key"))

        def healthy() -> bool:
            assert self.process is not None and self.process.alive(), "etcd exited"
            with urllib.request.urlopen(f"{self.url}/health", context=context,
                                        timeout=2) as response:
                return bool(json.loads(response.read()).get("health") == "true")
        wait_until(healthy, "etcd")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@dataclass
class APIServerProcess:
    certs: Certs
    etcd: Etcd
    workdir: Path
    port: int = field(default_factory=free_port)
    process: Process | None = None
    extra_args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def args(self) -> list[str]:
        c = self.certs
        return [sys.executable, "-m", "kubeadmpy.apiserver.main",
                f"--etcd-servers={self.etcd.url}", f"--etcd-cafile={c.path('etcd/ca.crt')}",
                f"--etcd-certfile={c.path('apiserver-etcd-client.crt')}",
                f"--etcd-keyfile={c.path('apiserver-etcd-client.key')}",
                "--bind-address=127.0.0.1", f"--secure-port={self.port}",
                "--advertise-address=127.0.0.1",
                f"--tls-cert-file={c.path('apiserver.crt')}",
                f"--tls-private-key-file={c.path('apiserver.key')}",
                f"--client-ca-file={c.path('ca.crt')}",
                f"--kubelet-client-certificate={c.path('apiserver-kubelet-client.crt')}",
                f"--kubelet-client-key={c.path('apiserver-kubelet-client.key')}",
                "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
                "--service-cluster-ip-range=10.96.0.0/12",
                f"--service-account-key-file={c.path('sa.pub')}",
                f"--service-account-signing-key-file={c.path('sa.key')}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--enable-bootstrap-token-auth=true",
                "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
                *self._admission_defaults(), *self.extra_args]

    def _admission_defaults(self) -> list[str]:
        """Most tests run no controller-manager, so no namespace has its `default`
        ServiceAccount and the ServiceAccount admission plugin (on by default, as upstream)
        would refuse their pods; a test that names admission flags itself decides."""
        if any("admission-plugins" in arg for arg in self.extra_args):
            return []
        return ["--disable-admission-plugins=ServiceAccount"]

    def start(self) -> None:
        self.process = Process(self.args(), self.workdir / f"apiserver-{self.port}.log")
        self.process.start()
        context = ssl.create_default_context(cafile=self.certs.path("ca.crt"))

        def ready() -> bool:
            assert self.process is not None and self.process.alive(), \
                f"apiserver exited:\n{self.process.log.read_text()[-3000:]}"
            with urllib.request.urlopen(f"{self.url}/readyz", context=context,
                                        timeout=2) as response:
                return response.status == 200
        wait_until(ready, "kubeadmpy-apiserver", 60)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@dataclass
class Cluster:
    certs: Certs
    etcd: Etcd
    apiserver: APIServerProcess
    kubeconfig: Path
    workdir: Path

    def kubectl(self, version: str, *args: str, stdin: str | None = None,
                check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        binary = KUBECTL_VERSIONS[version]
        cache = self.workdir / f"kube-cache-{version}"
        result = subprocess.run(
            [binary, f"--kubeconfig={self.kubeconfig}", f"--cache-dir={cache}", *args],
            input=stdin, capture_output=True, text=True, timeout=timeout,
            env={**os.environ, "HOME": str(self.workdir)})
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {version} {' '.join(args)} failed "
                                 f"({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def client_files(self, user: str = "kubernetes-admin",
                     groups: tuple[str, ...] = ("system:masters",)) -> tuple[str, str, str]:
        """(ca, cert, key) files of a client certificate for `user` in `groups`."""
        import base64

        import yaml

        stem = self.workdir / f"client-{user.replace(':', '_')}"
        cert, key = Path(f"{stem}.crt"), Path(f"{stem}.key")
        if not cert.exists():
            kubeconfig = yaml.safe_load(self.certs.kubeconfig(self.apiserver.url, user, groups))
            entry = kubeconfig["users"][0]["user"]
            cert.write_bytes(base64.b64decode(entry["client-certificate-data"]))
            key.write_bytes(base64.b64decode(entry["client-key-data"]))
        return self.certs.path("ca.crt"), str(cert), str(key)

    def ssl_context(self, user: str = "kubernetes-admin",
                    groups: tuple[str, ...] = ("system:masters",),
                    anonymous: bool = False) -> ssl.SSLContext:
        ca, cert, key = self.client_files(user, groups)
        context = ssl.create_default_context(cafile=ca)
        if not anonymous:
            context.load_cert_chain(cert, key)
        return context

    def logs(self) -> str:
        assert self.apiserver.process is not None
        return self.apiserver.process.log.read_text()


def start_cluster(workdir: Path, certs: Certs) -> Cluster:
    etcd = Etcd(certs, workdir / "etcd-data")
    apiserver = APIServerProcess(certs, etcd, workdir)
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


def stop_cluster(cluster: Cluster) -> None:
    try:
        cluster.apiserver.stop()
    finally:
        cluster.etcd.stop()


