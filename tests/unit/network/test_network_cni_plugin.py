"""The `flannel` CNI plugin: the CNI protocol (env, stdin, stdout, error JSON), the delegate
config it builds from subnet.env, and ADD/DEL through a recording delegate.

The delegate here is `fake-delegate`, a shell script that records what it was given: these
tests are about what the flannel plugin passes on. The real bridge + host-local chain is in
tests/node/network."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubeadmpy.network import cni_flannel, cni_install, subnetenv

ENV = subnetenv.SubnetEnv.for_node(ipaddress.IPv4Network("10.244.0.0/16"),
                                   ipaddress.IPv4Network("10.244.1.0/24"), 1450, True)
FAKE_DELEGATE = """#!/bin/sh
echo "$CNI_COMMAND $CNI_CONTAINERID" >> "{log}"
cat >> "{log}"
echo >> "{log}"
if [ -e "{fail}" ]; then
  echo '{{"cniVersion":"1.0.0","code":11,"msg":"try again","details":"busy"}}'; exit 1
fi
echo '{{"cniVersion":"1.0.0","ips":[{{"address":"10.244.1.2/24"}}]}}'
"""


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Any]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "fake-delegate"
    fake.write_text(FAKE_DELEGATE.format(log=tmp_path / "calls", fail=tmp_path / "fail"))
    fake.chmod(0o755)
    subnetenv.write(tmp_path / "subnet.env", ENV)
    conf = {"cniVersion": "1.0.0", "name": "cbr0", "type": "flannel",
            "subnetFile": str(tmp_path / "subnet.env"), "dataDir": str(tmp_path / "data"),
            "delegate": {"type": "fake-delegate", "hairpinMode": True}}
    env = {"PATH": os.environ["PATH"], "CNI_CONTAINERID": "abc123", "CNI_NETNS": "/proc/1/ns/net",
           "CNI_IFNAME": "eth0", "CNI_PATH": f"/nonexistent:{bindir}",
           "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAME=web"}
    return {"tmp": tmp_path, "conf": conf, "env": env}


def plugin(command: str, env: dict[str, str], stdin: Any) -> subprocess.CompletedProcess[str]:
    data = stdin if isinstance(stdin, str) else json.dumps(stdin)
    return subprocess.run([sys.executable, "-m", "kubeadmpy.network.cni_flannel"], input=data,
                          env={**env, "CNI_COMMAND": command}, capture_output=True, text=True,
                          check=False)


def error_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert set(result) >= {"cniVersion", "code", "msg"}
    return result


def test_cni_args_are_semicolon_separated_pairs() -> None:
    assert cni_flannel.parse_cni_args("IgnoreUnknown=1;K8S_POD_NAME=web;") == {
        "IgnoreUnknown": "1", "K8S_POD_NAME": "web"}
    assert cni_flannel.parse_cni_args("") == {}
    with pytest.raises(cni_flannel.CNIError) as caught:
        cni_flannel.parse_cni_args("K8S_POD_NAME")
    assert caught.value.code == 4 and "CNI_ARGS" in caught.value.msg


@pytest.mark.parametrize(("environ", "words"), [
    ({}, "CNI_COMMAND: '' is not a CNI command"),
    ({"CNI_COMMAND": "UP"}, "CNI_COMMAND: 'UP'"),
    ({"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "x", "CNI_IFNAME": "eth0", "CNI_PATH": "/b"},
     "CNI_NETNS is not set"),
    ({"CNI_COMMAND": "DEL", "CNI_IFNAME": "eth0", "CNI_PATH": "/b"},
     "CNI_CONTAINERID is not set"),
], ids=["no command", "an unknown command", "ADD without a netns", "DEL without a container"])
def test_a_bad_environment_is_error_4_naming_the_variable(environ: dict[str, str],
                                                           words: str) -> None:
    with pytest.raises(cni_flannel.CNIError) as caught:
        cni_flannel.invocation(environ)
    assert caught.value.code == 4 and words in caught.value.msg


def test_the_delegate_is_a_gateway_bridge_on_the_node_subnet_without_masquerade() -> None:
    conf = {"cniVersion": "0.3.1", "name": "cbr0", "type": "flannel",
            "delegate": {"hairpinMode": True, "isDefaultGateway": True}}
    assert cni_flannel.delegate_config(conf, ENV) == {
        "cniVersion": "0.3.1", "name": "cbr0", "type": "bridge", "hairpinMode": True,
        "isDefaultGateway": True, "isGateway": True, "ipMasq": False, "mtu": 1450,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.1.0/24"}]],
                 "routes": [{"dst": "10.244.0.0/16"}]}}


def test_what_the_input_sets_wins_over_subnet_env() -> None:
    conf = {"name": "n", "delegate": {"mtu": 1400, "ipMasq": True, "bridge": "mynet0"},
            "ipam": {"dataDir": "/tmp/x", "routes": [{"dst": "0.0.0.0/0"}]}}
    delegate = cni_flannel.delegate_config(conf, ENV)
    assert (delegate["mtu"], delegate["ipMasq"], delegate["bridge"]) == (1400, True, "mynet0")
    assert delegate["ipam"]["dataDir"] == "/tmp/x"
    assert delegate["ipam"]["routes"] == [{"dst": "0.0.0.0/0"}, {"dst": "10.244.0.0/16"}]


def test_version_lists_the_supported_versions(setup: dict[str, Any]) -> None:
    done = plugin("VERSION", setup["env"], {"cniVersion": "0.4.0"})
    assert done.returncode == 0
    assert json.loads(done.stdout) == {"cniVersion": "0.4.0", "supportedVersions": list(
        cni_flannel.SUPPORTED_VERSIONS)}


def test_add_saves_the_delegate_config_and_del_hands_the_same_to_the_delegate(
        setup: dict[str, Any]) -> None:
    tmp, conf, env = setup["tmp"], setup["conf"], setup["env"]
    added = plugin("ADD", env, conf)
    assert added.returncode == 0, added.stdout + added.stderr
    assert json.loads(added.stdout)["ips"] == [{"address": "10.244.1.2/24"}]
    saved = tmp / "data" / "abc123"
    assert saved.stat().st_mode & 0o777 == 0o600
    stored = json.loads(saved.read_text())
    assert stored["ipam"]["ranges"] == [[{"subnet": "10.244.1.0/24"}]]
    (tmp / "subnet.env").unlink()  # DEL must not need subnet.env: it uses the saved config
    deleted = plugin("DEL", env, conf)
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert not saved.exists()
    calls = (tmp / "calls").read_text().split("\n")
    assert calls[0] == "ADD abc123" and calls[2] == "DEL abc123"
    assert json.loads(calls[1]) == json.loads(calls[3]) == stored


def test_del_of_an_unknown_container_succeeds(setup: dict[str, Any]) -> None:
    done = plugin("DEL", setup["env"], setup["conf"])
    assert (done.returncode, done.stdout) == (0, "")
    assert not (setup["tmp"] / "calls").exists()


def test_check_knows_added_containers_and_error_3_for_others(setup: dict[str, Any]) -> None:
    assert error_of(plugin("CHECK", setup["env"], setup["conf"]))["code"] == 3
    assert plugin("ADD", setup["env"], setup["conf"]).returncode == 0
    checked = plugin("CHECK", setup["env"], setup["conf"])
    assert (checked.returncode, checked.stdout) == (0, "")


def test_the_delegates_own_error_is_passed_on(setup: dict[str, Any]) -> None:
    (setup["tmp"] / "fail").touch()
    error = error_of(plugin("ADD", setup["env"], setup["conf"]))
    assert error == {"cniVersion": "1.0.0", "code": 11, "msg": "fake-delegate: try again",
                     "details": "busy"}


def test_without_subnet_env_add_says_flanneld_is_missing(setup: dict[str, Any]) -> None:
    (setup["tmp"] / "subnet.env").unlink()
    error = error_of(plugin("ADD", setup["env"], setup["conf"]))
    assert error["code"] == 5 and "subnet.env" in error["msg"]
    assert "kubeadmpy-flanneld" in error["details"]


@pytest.mark.parametrize(("change", "code", "words"), [
    ({"cniVersion": "9.9.9"}, 1, "cniVersion '9.9.9' is not supported"),
    ({"name": ""}, 7, "name"),
    ({"delegate": "bridge"}, 7, "delegate: must be a JSON object"),
    ({"delegate": {"type": "nosuchplugin"}}, 7, "'nosuchplugin' not found in CNI_PATH"),
    ({"delegate": {"type": 1}}, 7, "delegate.type: must be a string"),
    ({"delegate": {"name": "x"}}, 7, "delegate.name: must not be set"),
    ({"delegate": {"ipam": {}}}, 7, "delegate.ipam: must not be set"),
    ({"ipam": {"routes": 5}}, 7, "ipam.routes: must be a list of routes"),
    ({"ipam": {"routes": {"dst": "10.0.0.0/8"}}}, 7, "ipam.routes: must be a list of routes"),
    ({"ipam": {"routes": ["10.0.0.0/8"]}}, 7, "ipam.routes: must be a list of routes"),
], ids=["an unknown cniVersion", "no network name", "a delegate that is not an object",
        "a delegate not in CNI_PATH", "a delegate type that is not a string",
        "a delegate with its own name", "a delegate with its own ipam",
        "ipam routes that are a number", "ipam routes that are one object",
        "ipam routes that are strings"])
def test_a_bad_network_config_is_a_cni_error(setup: dict[str, Any], change: dict[str, Any],
                                             code: int, words: str) -> None:
    error = error_of(plugin("ADD", setup["env"], {**setup["conf"], **change}))
    assert error["code"] == code and words in error["msg"]


def test_stdin_that_is_not_json_is_error_6(setup: dict[str, Any]) -> None:
    assert error_of(plugin("ADD", setup["env"], "{not json"))["code"] == 6


def test_a_broken_subnet_env_is_error_7_naming_the_key(setup: dict[str, Any]) -> None:
    (setup["tmp"] / "subnet.env").write_text("FLANNEL_NETWORK=10.244.0.0/16\n")
    error = error_of(plugin("ADD", setup["env"], setup["conf"]))
    assert error["code"] == 7 and "FLANNEL_SUBNET: is missing" in error["msg"]


def test_the_installed_launcher_runs_the_plugin(tmp_path: Path) -> None:
    launcher = cni_install.write_launcher(tmp_path / "cni-bin")
    assert launcher == tmp_path / "cni-bin" / "flannel"
    assert launcher.stat().st_mode & 0o777 == 0o755
    assert cni_install.is_ours(launcher)
    done = subprocess.run([str(launcher)], input='{"cniVersion": "1.0.0"}', text=True,
                          capture_output=True, env={"CNI_COMMAND": "VERSION"}, check=False,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["supportedVersions"][-1] == "1.0.0"
