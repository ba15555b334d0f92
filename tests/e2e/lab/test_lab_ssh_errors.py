"""SSH failures a user meets get an error that names the host, the cause and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kubeadmpy import lab as labs
from kubeadmpy.errors import UserInputError
from kubeadmpy.lab import keys, network
from kubeadmpy.remote import (
    AuthenticationError,
    HostKeyMismatchError,
    HostKeyPolicy,
    HostUnreachableError,
    SSHHost,
    SSHSettings,
    UnknownHostKeyError,
)


def lab_settings(lab: labs.Lab, **changes: object) -> SSHSettings:
    base = lab.ssh_settings(lab.machine("cp1"))
    return SSHSettings(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_a_port_without_sshd_is_reported_as_refused(lab: labs.Lab) -> None:
    host = SSHHost(lab.machine("cp1").ip, lab_settings(lab, port=2222), name="cp1")
    assert not host.is_reachable(timeout=2)
    with pytest.raises(HostUnreachableError, match=r"cp1: connection to \[.*\]:2222 refused"):
        host.run("true")


def test_an_address_where_no_machine_lives_is_reported_as_unreachable(lab: labs.Lab) -> None:
    empty = str(network.lab_subnet(lab.manifest.index).network_address + 250)
    host = SSHHost(empty, lab_settings(lab, connect_timeout=1.0), name="ghost")
    assert not host.is_reachable(timeout=1)
    with pytest.raises(HostUnreachableError, match="ghost: ") as caught:
        host.run("true")
    assert "no answer" in str(caught.value) or "cannot connect" in str(caught.value)


def test_a_key_the_machine_does_not_authorize_is_rejected_with_a_fix(
        lab: labs.Lab, tmp_path: Path) -> None:
    stranger = keys.new_key_pair("stranger")
    stranger.write(tmp_path / "id_stranger")
    host = SSHHost(lab.machine("cp1").ip, lab_settings(lab, key_file=tmp_path / "id_stranger"),
                   name="cp1")
    with pytest.raises(AuthenticationError, match="authorized_keys"):
        host.run("true")


def test_a_changed_host_key_is_refused_and_the_fix_names_the_known_hosts_file(
        lab: labs.Lab, tmp_path: Path) -> None:
    machine = lab.machine("cp1")
    impostor = keys.new_key_pair("impostor")
    known = tmp_path / "known_hosts"
    known.write_text(keys.known_hosts_line([machine.ip], impostor.public_line) + "\n")
    host = SSHHost(machine.ip, lab_settings(lab, known_hosts=known), name="cp1")
    with pytest.raises(HostKeyMismatchError, match=f"ssh-keygen -f {known} -R"):
        host.run("true")


def test_an_unknown_host_is_refused_under_strict_checking(lab: labs.Lab, tmp_path: Path) -> None:
    host = SSHHost(lab.machine("cp1").ip, lab_settings(lab, known_hosts=tmp_path / "empty"),
                   name="cp1")
    with pytest.raises(UnknownHostKeyError, match="accept-new"):
        host.run("true")


def test_accept_new_pins_the_key_on_first_use_and_checks_it_afterwards(
        lab: labs.Lab, tmp_path: Path) -> None:
    machine = lab.machine("cp1")
    known = tmp_path / "known_hosts"
    first = SSHHost(machine.ip, lab_settings(lab, known_hosts=known,
                                             host_key_policy=HostKeyPolicy.ACCEPT_NEW))
    with first:
        first.run("true", check=True)
    assert machine.host_public_key.split()[1] in known.read_text()
    strict = SSHHost(machine.ip, lab_settings(lab, known_hosts=known))
    with strict:
        assert strict.run("hostname", check=True).stdout.strip() == "cp1"


def test_the_lab_pins_every_machine_key_by_name_and_address(lab: labs.Lab) -> None:
    pinned = Path(lab.manifest.known_hosts).read_text().splitlines()
    for machine in lab.machines:
        assert keys.known_hosts_line([machine.name, machine.ip], machine.host_public_key) in pinned


def write_encrypted_key(path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.OpenSSH,
                                       serialization.BestAvailableEncryption(b"secret")))


@pytest.mark.parametrize("make_key,problem", [
    (lambda p: None, "does not exist"),
    (lambda p: p.write_text("not a key at all\n"), "not a private key"),
    (write_encrypted_key, "encrypted with a passphrase"),
], ids=["a missing key file", "a file that is no key", "a passphrase-protected key"])
def test_an_unusable_key_file_is_a_user_error_naming_the_option(
        tmp_path: Path, make_key: object, problem: str) -> None:
    path = tmp_path / "id_key"
    make_key(path)  # type: ignore[operator]
    with pytest.raises(UserInputError, match=problem) as caught:
        SSHSettings(key_file=path).validate()
    assert caught.value.field == "--ssh-key"


@pytest.mark.parametrize("changes,field", [
    ({"port": 0}, "--ssh-port"),
    ({"port": 70000}, "--ssh-port"),
    ({"connect_timeout": 0}, "--ssh-connect-timeout"),
], ids=["port zero", "port above 65535", "a zero connect timeout"])
def test_impossible_settings_are_user_errors(changes: dict[str, object], field: str) -> None:
    with pytest.raises(UserInputError) as caught:
        SSHSettings(**changes).validate()  # type: ignore[arg-type]
    assert caught.value.field == field
