"""The python-flavor etcd manifest runs on the installed etcd, and its probes answer.

Starts the real etcd (Debian's 3.4) with the command line from the rendered manifest, TLS
material made by the real openssl, and ports picked at run time (moved through extraArgs, which
the probes follow, as in kubeadm). Everything it starts is stopped in a finally block.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeadmpy.render import Arg, ComponentExtras, ControlPlaneValues, LocalEtcd, render_static_pod


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def openssl(*words: str, cwd: Path) -> None:
    subprocess.run(["openssl", *words], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_etcd_pki(folder: Path) -> None:
    """etcd/ca, etcd/server and etcd/peer like kubeadm's, valid for 127.0.0.1."""
    folder.mkdir(parents=True)
    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.crt", "-subj",
            "/CN=etcd-ca", "-days", "1", cwd=folder)
    extensions = folder / "leaf.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                          "extendedKeyUsage=serverAuth,clientAuth\n")
    for name in ("server", "peer"):
        openssl("req", "-new", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
                "/CN=cp-1", cwd=folder)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "1", "-extfile",
                str(extensions), cwd=folder)


@pytest.fixture(scope="module")
def etcd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("etcd")


@pytest.fixture(scope="module")
def running_etcd(etcd_dir: Path) -> Iterator[tuple[dict[str, Any], int]]:
    """A real etcd started from the rendered python-flavor manifest: (container, client port)."""
    tmp_path = etcd_dir
    make_etcd_pki(tmp_path / "pki" / "etcd")
    client, peer, metrics = free_ports(3)
    moved = (
        ("listen-client-urls", f"https://127.0.0.1:{client}"),
        ("advertise-client-urls", f"https://127.0.0.1:{client}"),
        ("listen-peer-urls", f"https://127.0.0.1:{peer}"),
        ("initial-advertise-peer-urls", f"https://127.0.0.1:{peer}"),
        ("initial-cluster", f"cp-1=https://127.0.0.1:{peer}"),
        ("listen-metrics-urls", f"http://127.0.0.1:{metrics}"),
    )
    values = ControlPlaneValues(
        flavor="python", kubernetes_version="v1.33.0", advertise_address="127.0.0.1",
        node_name="cp-1", certificates_dir=str(tmp_path / "pki"),
        etcd=LocalEtcd(data_dir=str(tmp_path / "etcd"),
                       extras=ComponentExtras(extra_args=tuple(Arg(*a) for a in moved))))
    manifest = yaml.safe_load(render_static_pod("etcd", values).content)
    container: dict[str, Any] = manifest["spec"]["containers"][0]
    log = (tmp_path / "etcd.log").open("wb")
    process = subprocess.Popen(container["command"], stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    try:
        yield container, client
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


def probe_status(probe: dict[str, Any]) -> int:
    get = probe["httpGet"]
    url = f"{get['scheme'].lower()}://{get['host']}:{get['port']}{get['path']}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def wait_for(check: Callable[[], bool], attempts: int = 120) -> bool:
    for _ in range(attempts):
        if check():
            return True
        time.sleep(0.25)
    return False


def test_python_flavor_etcd_starts_and_answers_its_probes(
        running_etcd: tuple[dict[str, Any], int]) -> None:
    container, _ = running_etcd
    assert wait_for(lambda: probe_status(container["startupProbe"]) == 200)
    assert probe_status(container["livenessProbe"]) == 200


def test_python_flavor_etcd_serves_clients_with_the_rendered_tls_files(
        running_etcd: tuple[dict[str, Any], int], etcd_dir: Path) -> None:
    container, client = running_etcd
    assert wait_for(lambda: probe_status(container["startupProbe"]) == 200)
    pki = etcd_dir / "pki" / "etcd"
    etcdctl = ["etcdctl", f"--endpoints=https://127.0.0.1:{client}", f"--cacert={pki}/ca.crt",
               f"--cert={pki}/server.crt", f"--key={pki}/server.key"]
    subprocess.run([*etcdctl, "put", "/render-test", "ok"], check=True, capture_output=True,
                   timeout=30)
    got = subprocess.run([*etcdctl, "get", "--print-value-only", "/render-test"], check=True,
                         capture_output=True, text=True, timeout=30)
    assert got.stdout.strip() == "ok"
    anonymous = subprocess.run(["etcdctl", f"--endpoints=https://127.0.0.1:{client}",
                                f"--cacert={pki}/ca.crt", "--dial-timeout=1s",
                                "--command-timeout=1s", "get", "/render-test"],
                               capture_output=True, timeout=30, check=False)
    assert anonymous.returncode != 0  # client-cert-auth=true from the manifest is in force
