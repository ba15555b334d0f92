"""`kubeadmpy remote` with the ``--ssh-*`` options, as a user reaches real machines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kubeadmpy import lab as labs


def kubeadmpy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubeadmpy.cli.main", "remote", *args],
                          capture_output=True, text=True, timeout=120)


def ssh_options(lab: labs.Lab, known_hosts: str | None = None) -> list[str]:
    return ["--ssh-key", lab.manifest.private_key,
            "--ssh-known-hosts", known_hosts or lab.manifest.known_hosts]


def test_run_prints_each_hosts_lines_with_its_prefix_and_returns_the_worst_exit_code(
        lab: labs.Lab) -> None:
    cp1, w1 = lab.machine("cp1").ip, lab.machine("w1").ip
    result = kubeadmpy("run", cp1, w1, "-c", "hostname; [ $(hostname) = w1 ] && exit 5; true",
                       *ssh_options(lab))
    assert result.returncode == 5
    assert f"[{cp1}] cp1" in result.stdout.splitlines()
    assert f"[{w1}] w1" in result.stdout.splitlines()
    assert f"[{w1}] exit code 5" in result.stderr


def test_check_reports_every_host_and_fails_if_one_cannot_be_reached(lab: labs.Lab) -> None:
    good = lab.machine("cp1").ip
    refused = f"root@{lab.machine('w2').ip}:2222"
    result = kubeadmpy("check", good, refused, *ssh_options(lab))
    assert result.returncode == 1
    assert "hostname cp1" in result.stdout
    assert "refused" in result.stdout


def test_accept_new_pins_keys_of_real_machines_in_the_given_known_hosts(
        lab: labs.Lab, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    ip = lab.machine("w2").ip
    strict = kubeadmpy("check", ip, *ssh_options(lab, str(known)))
    assert strict.returncode == 1 and "accept-new" in strict.stdout
    pinned = kubeadmpy("check", ip, *ssh_options(lab, str(known)),
                       "--ssh-strict-host-key-checking", "accept-new")
    assert pinned.returncode == 0, pinned.stdout
    assert lab.machine("w2").host_public_key.split()[1] in known.read_text()


@pytest.mark.parametrize("args,message", [
    (["check", "10.213.0.250", "--ssh-key", "/nonexistent/key"], "--ssh-key: /nonexistent/key does not exist"),
    (["check", "10.213.0.250", "--ssh-port", "0"], "--ssh-port: 0 is not a TCP port"),
    (["check", "bad host name"], "HOST: 'bad host name' is not a host"),
], ids=["a missing key", "port zero", "a host with spaces"])
def test_bad_ssh_options_are_errors_naming_the_option(args: list[str], message: str) -> None:
    result = kubeadmpy(*args)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
