"""Bad input to `kubeadmpy remote` and `kubeadmpy lab up`: a clear error naming the option.

Nothing here connects anywhere or creates a lab: every case is refused before that.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kubeadmpy.errors import UserInputError
from kubeadmpy.remote import HostKeyPolicy, SSHSettings, parse_host


def kubeadmpy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubeadmpy", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False, timeout=60)


@pytest.mark.parametrize("spec,address,user,port", [
    ("10.0.0.5", "10.0.0.5", "root", 22),
    ("alice@node1", "node1", "alice", 22),
    ("node1:2222", "node1", "root", 2222),
    ("bob@[fd00::5]:2200", "fd00::5", "bob", 2200),
], ids=["address only", "user overrides", "port overrides", "bracketed IPv6 with user and port"])
def test_host_specs_override_the_default_user_and_port(
        spec: str, address: str, user: str, port: int) -> None:
    host = parse_host(spec, SSHSettings(host_key_policy=HostKeyPolicy.OFF))
    assert (host.address, host.settings.user, host.settings.port, host.name) == (
        address, user, port, spec)
    assert host.settings.host_key_policy is HostKeyPolicy.OFF  # the other defaults are kept


@pytest.mark.parametrize("spec,field", [
    ("", "HOST"),
    ("node1:", "HOST"),
    ("node1:port", "HOST"),
    ("fd00::5", "HOST"),
    ("a b", "HOST"),
    ("node1:70000", "--ssh-port"),
    ("node1:0", "--ssh-port"),
], ids=["empty", "colon without port", "port not a number", "IPv6 without brackets",
        "space", "port too large", "port zero"])
def test_bad_host_specs_are_user_errors(spec: str, field: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_host(spec, SSHSettings())
    assert caught.value.field == field


@pytest.mark.parametrize("settings,field", [
    (SSHSettings(port=0), "--ssh-port"),
    (SSHSettings(connect_timeout=0), "--ssh-connect-timeout"),
    (SSHSettings(key_file=Path("/nonexistent/id_ed25519")), "--ssh-key"),
], ids=["port zero", "no connect time", "missing key file"])
def test_bad_ssh_settings_are_user_errors(settings: SSHSettings, field: str) -> None:
    with pytest.raises(UserInputError) as caught:
        settings.validate()
    assert caught.value.field == field


def test_a_key_file_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("not a key\n")
    with pytest.raises(UserInputError, match="not a private key"):
        SSHSettings(key_file=key).validate()


@pytest.mark.parametrize("args,needle", [
    (["remote", "run", "-c", "true", "--ssh-port", "0", "h1"], "--ssh-port"),
    (["remote", "run", "-c", "true", "node1:port"], "is not a host"),
    (["remote", "check", "--ssh-connect-timeout", "-1", "h1"], "--ssh-connect-timeout"),
    (["remote", "check", "--ssh-strict-host-key-checking", "maybe", "h1"], "maybe"),
    (["lab", "up", "--timeout", "0"], "--timeout"),
    (["lab", "up", "--control-planes", "0"], "--control-planes"),
], ids=["remote run bad port", "remote run bad host", "remote check bad timeout",
        "remote check bad host key policy", "lab up no timeout", "lab up no control plane"])
def test_the_cli_refuses_bad_flags_with_a_message_naming_them(args: list[str], needle: str) -> None:
    done = kubeadmpy(*args)
    assert done.returncode != 0
    assert needle in done.stderr
    assert "Traceback" not in done.stderr
