"""The python-flavor kube-apiserver static pod rendered by kubeadmpy starts this server unchanged:
every flag kubeadm puts on its command line is accepted, and its probes answer."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from apiserver_harness import Certs, Etcd, free_port, wait_until

from kubeadmpy.apiserver.main import main
from kubeadmpy.apiserver.settings import NOT_YET_ENFORCED, parse_settings
from kubeadmpy.render import ControlPlaneValues, render_static_pod
from kubeadmpy.render.values import ExternalEtcd


def rendered_container(certs: Certs, etcd_url: str, port: int) -> dict[str, Any]:
    values = ControlPlaneValues(
        flavor="python", kubernetes_version="v1.33.0", advertise_address="127.0.0.1",
        node_name="node1", bind_port=port, certificates_dir=str(certs.dir),
        etcd=ExternalEtcd((etcd_url,), certs.path("etcd/ca.crt"),
                          certs.path("apiserver-etcd-client.crt"),
                          certs.path("apiserver-etcd-client.key")))
    manifest = yaml.safe_load(render_static_pod("kube-apiserver", values).content)
    container: dict[str, Any] = manifest["spec"]["containers"][0]
    return container


def test_every_rendered_flag_parses(certs: Certs) -> None:
    command = rendered_container(certs, "https://127.0.0.1:2379", 6443)["command"]
    assert command[0] == "kubeadmpy-apiserver"
    settings = parse_settings(command[1:])
    assert settings.secure_port == 6443
    assert settings.client_ca_file == certs.path("ca.crt")
    assert set(settings.not_enforced) <= set(NOT_YET_ENFORCED)


def test_the_rendered_command_serves_and_its_probes_answer(certs: Certs, tmp_path: Path) -> None:
    etcd = Etcd(certs, tmp_path / "etcd")
    port = free_port()
    container = rendered_container(certs, etcd.url, port)
    command = list(container["command"])
    if shutil.which(command[0]) is None:  # not installed as a console script in this venv
        command[:1] = [sys.executable, "-m", "kubeadmpy.apiserver.main"]
    etcd.start()
    log = (tmp_path / "apiserver.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    try:
        context = ssl.create_default_context(cafile=certs.path("ca.crt"))
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            get = container[probe]["httpGet"]
            url = f"https://{get.get('host') or '127.0.0.1'}:{get['port']}{get['path']}"

            def answers(url: str = url) -> bool:
                assert process.poll() is None, (tmp_path / "apiserver.log").read_text()
                with urllib.request.urlopen(url, context=context, timeout=2) as response:
                    return response.status == 200
            wait_until(answers, f"{probe} {url}", 60)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        etcd.stop()


@pytest.mark.parametrize(("args", "named"), [
    (["--etcd-servers=etcd:2379", "--tls-cert-file=a", "--tls-private-key-file=b"],
     "--etcd-servers"),
    (["--etcd-servers=https://127.0.0.1:2379", "--secure-port=70000", "--tls-cert-file=a",
      "--tls-private-key-file=b"], "--secure-port"),
    (["--etcd-servers=https://127.0.0.1:2379"], "--tls-cert-file"),
    (["--etcd-servers=https://127.0.0.1:2379", "--tls-cert-file=/missing.crt",
      "--tls-private-key-file=/missing.key"], "--tls-cert-file"),
    (["--etcd-servers=https://127.0.0.1:2379", "--tls-cert-file=a", "--tls-private-key-file=b",
      "--etcd-compaction-interval=often"], "--etcd-compaction-interval"),
    (["--etcd-servers=https://127.0.0.1:2379", "--tls-cert-file=a", "--tls-private-key-file=b",
      "--service-cluster-ip-range=10.96.0.0/30"], "--service-cluster-ip-range"),
], ids=["an etcd URL without scheme", "a port out of range", "no serving certificate",
        "unreadable certificate files", "a duration that is not one", "a tiny service range"])
def test_bad_flags_are_named_without_a_traceback(args: list[str], named: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) != 0
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
