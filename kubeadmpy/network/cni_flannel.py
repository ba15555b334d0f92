"""The `flannel` CNI plugin: reads subnet.env and delegates to `bridge` + `host-local`.

A container runtime runs this once per pod sandbox (ADD) and once when it goes (DEL), with the
CNI protocol: `CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`, `CNI_ARGS` and
`CNI_PATH` in the environment, the network config on stdin, a result or an error JSON
(`{"cniVersion", "code", "msg"}`) on stdout. Like upstream's plugin it builds the delegate's
config from subnet.env — bridge `cni0` (by default) as the pod subnet's gateway, MTU from
flanneld, `ipMasq` only when flanneld does not masquerade, host-local IPAM on this node's
subnet with a route to the whole pod network — saves it under
/var/lib/cni/flannel/<containerID> and runs the delegate found in `CNI_PATH`. DEL reads the
saved config back so it tears down exactly what ADD set up, even if subnet.env changed since.

It imports only the standard library and `subnetenv`: it runs for every pod start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeadmpy.errors import ConfigError
from kubeadmpy.network import subnetenv

SUPPORTED_VERSIONS = ("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0")
DEFAULT_DATA_DIR = "/var/lib/cni/flannel"
# Error codes from the CNI specification.
INCOMPATIBLE_VERSION = 1
UNKNOWN_CONTAINER = 3
INVALID_ENVIRONMENT = 4
IO_FAILURE = 5
DECODE_FAILURE = 6
INVALID_CONFIG = 7
DELEGATE_FAILURE = 100  # plugin-specific: the delegate failed without a CNI error of its own

JSONObject = dict[str, Any]


class CNIError(Exception):
    """Reported on stdout as the CNI error object; the plugin then exits 1."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.details = details

    def to_json(self, version: str) -> JSONObject:
        result: JSONObject = {"cniVersion": version, "code": self.code, "msg": self.msg}
        if self.details:
            result["details"] = self.details
        return result


@dataclass(frozen=True)
class Invocation:
    """The CNI_* environment of one call."""

    command: str
    container_id: str
    netns: str
    ifname: str
    args: dict[str, str]
    path: tuple[str, ...]


def parse_cni_args(text: str) -> dict[str, str]:
    """`CNI_ARGS` is `K1=V1;K2=V2` (e.g. K8S_POD_NAMESPACE=default;K8S_POD_NAME=web)."""
    result: dict[str, str] = {}
    for pair in text.split(";"):
        if not pair:
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CNIError(INVALID_ENVIRONMENT, f"CNI_ARGS: {pair!r} is not KEY=VALUE",
                           "separate pairs with ';', e.g. K8S_POD_NAME=web;IgnoreUnknown=1")
        result[key] = value
    return result


REQUIRED = {
    "ADD": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"),
    "DEL": ("CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"),
    "CHECK": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"),
    "VERSION": (),
}


def invocation(environ: Mapping[str, str]) -> Invocation:
    """Read and check the environment; a missing variable is error code 4 naming it."""
    command = environ.get("CNI_COMMAND", "")
    if command not in REQUIRED:
        raise CNIError(INVALID_ENVIRONMENT, f"CNI_COMMAND: {command!r} is not a CNI command",
                       f"set it to one of {', '.join(REQUIRED)}")
    for name in REQUIRED[command]:
        if not environ.get(name):
            raise CNIError(INVALID_ENVIRONMENT, f"{name} is not set",
                           f"the container runtime must set {name} for {command}")
    return Invocation(command, environ.get("CNI_CONTAINERID", ""),
                      environ.get("CNI_NETNS", ""), environ.get("CNI_IFNAME", ""),
                      parse_cni_args(environ.get("CNI_ARGS", "")),
                      tuple(p for p in environ.get("CNI_PATH", "").split(":") if p))


def parse_config(data: bytes) -> JSONObject:
    try:
        conf = json.loads(data or b"{}")
    except ValueError as exc:
        raise CNIError(DECODE_FAILURE, f"the network config on stdin is not JSON: {exc}") \
            from exc
    if not isinstance(conf, dict):
        raise CNIError(DECODE_FAILURE, "the network config on stdin is not a JSON object")
    return conf


def _check_config(conf: JSONObject) -> None:
    version = str(conf.get("cniVersion") or "0.1.0")
    if version not in SUPPORTED_VERSIONS:
        raise CNIError(INCOMPATIBLE_VERSION, f"cniVersion {version!r} is not supported",
                       f"use one of {', '.join(SUPPORTED_VERSIONS)}")
    if not isinstance(conf.get("name"), str) or not conf["name"]:
        raise CNIError(INVALID_CONFIG, "name: the network config has no name",
                       'add "name", e.g. "cbr0"')
    for key in ("delegate", "ipam"):
        if key in conf and not isinstance(conf[key], dict):
            raise CNIError(INVALID_CONFIG, f"{key}: must be a JSON object")
    routes = (conf.get("ipam") or {}).get("routes", [])
    if not isinstance(routes, list) or not all(isinstance(r, dict) for r in routes):
        raise CNIError(INVALID_CONFIG, "ipam.routes: must be a list of routes",
                       'write it as [{"dst": "10.0.0.0/8"}], or leave it out')
    delegate = conf.get("delegate") or {}
    if not isinstance(delegate.get("type", ""), str):
        raise CNIError(INVALID_CONFIG, "delegate.type: must be a string such as \"bridge\"")
    for key in ("name", "ipam"):  # upstream refuses them too: flannel sets both
        if key in delegate:
            raise CNIError(INVALID_CONFIG, f"delegate.{key}: must not be set, flannel sets it",
                           f"move it out of delegate{' to the top level' if key == 'ipam' else ''}")


def delegate_config(conf: JSONObject, env: subnetenv.SubnetEnv) -> JSONObject:
    """Upstream's rules: what the input's `delegate` sets wins, subnet.env fills the rest."""
    delegate: JSONObject = dict(conf.get("delegate") or {})
    delegate["name"] = conf["name"]
    delegate.setdefault("type", "bridge")
    delegate.setdefault("ipMasq", not env.ipmasq)
    delegate.setdefault("mtu", env.mtu)
    if delegate["type"] == "bridge":
        delegate.setdefault("isGateway", True)
    if conf.get("cniVersion"):
        delegate["cniVersion"] = conf["cniVersion"]
    if conf.get("runtimeConfig"):
        delegate["runtimeConfig"] = conf["runtimeConfig"]
    ipam: JSONObject = dict(conf.get("ipam") or {})
    ipam.setdefault("type", "host-local")
    ipam["ranges"] = [[{"subnet": str(env.subnet.network)}]]
    ipam["routes"] = [*ipam.get("routes", []), {"dst": str(env.network)}]
    delegate["ipam"] = ipam
    return delegate


def find_plugin(kind: str, path: tuple[str, ...]) -> Path:
    for folder in path:
        candidate = Path(folder, kind)
        if os.access(candidate, os.X_OK) and candidate.is_file():
            return candidate
    raise CNIError(INVALID_CONFIG, f"delegate plugin {kind!r} not found in CNI_PATH "
                   f"{':'.join(path)}", "install containernetworking-plugins or fix the "
                   "runtime's CNI bin_dir")


def run_delegate(kind: str, command: str, conf: JSONObject, call: Invocation,
                 environ: Mapping[str, str]) -> bytes:
    """Run the delegate plugin; its CNI error (or its exit status) becomes ours."""
    plugin = find_plugin(kind, call.path)
    env = {**environ, "CNI_COMMAND": command}
    done = subprocess.run([str(plugin)], input=json.dumps(conf).encode(), env=env,
                          capture_output=True, check=False)
    if done.stderr:
        sys.stderr.write(done.stderr.decode(errors="replace"))
    if done.returncode == 0:
        return done.stdout
    try:
        reported = json.loads(done.stdout)
        raise CNIError(int(reported["code"]), f"{kind}: {reported['msg']}",
                       str(reported.get("details") or ""))
    except (ValueError, KeyError, TypeError):
        words = done.stdout.decode(errors="replace").strip() or f"exit {done.returncode}"
        raise CNIError(DELEGATE_FAILURE, f"{kind} {command} failed: {words}") from None


def _saved_path(conf: JSONObject, container_id: str) -> Path:
    if "/" in container_id or container_id in (".", ".."):
        raise CNIError(INVALID_ENVIRONMENT, f"CNI_CONTAINERID {container_id!r} is not a "
                       "container id")
    return Path(str(conf.get("dataDir") or DEFAULT_DATA_DIR), container_id)


def _read_subnet_env(conf: JSONObject) -> subnetenv.SubnetEnv:
    path = str(conf.get("subnetFile") or subnetenv.DEFAULT_PATH)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise CNIError(IO_FAILURE, f"cannot read {path} ({exc.strerror})",
                       "is kubeadmpy-flanneld running on this node? it writes the file once "
                       "the node has a podCIDR") from exc
    try:
        return subnetenv.parse(text, path)
    except ConfigError as exc:
        raise CNIError(INVALID_CONFIG, str(exc)) from exc


def cmd_add(conf: JSONObject, call: Invocation, environ: Mapping[str, str]) -> bytes:
    _check_config(conf)
    delegate = delegate_config(conf, _read_subnet_env(conf))
    saved = _saved_path(conf, call.container_id)
    try:
        saved.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        saved.touch(mode=0o600)
        saved.write_text(json.dumps(delegate))
    except OSError as exc:
        raise CNIError(IO_FAILURE, f"cannot save the delegate config to {saved} "
                       f"({exc.strerror})") from exc
    return run_delegate(str(delegate["type"]), "ADD", delegate, call, environ)


def _load_saved(saved: Path) -> JSONObject | None:
    try:
        loaded = json.loads(saved.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CNIError(IO_FAILURE, f"cannot read the saved delegate config {saved}: {exc}") \
            from exc
    if not isinstance(loaded, dict):
        raise CNIError(DECODE_FAILURE, f"the saved delegate config {saved} is not an object")
    return loaded


def cmd_del(conf: JSONObject, call: Invocation, environ: Mapping[str, str]) -> bytes:
    saved = _saved_path(conf, call.container_id)
    delegate = _load_saved(saved)
    if delegate is None:  # never added, or already deleted: DEL must succeed
        return b""
    run_delegate(str(delegate.get("type") or "bridge"), "DEL", delegate, call, environ)
    saved.unlink(missing_ok=True)
    return b""


def cmd_check(conf: JSONObject, call: Invocation) -> bytes:
    """The container must have been added; the delegate is not asked. bridge's own CHECK
    (containernetworking-plugins 1.1.1) rejects the gateway-less route to the pod network
    that flannel's IPAM config asks for, so delegating would fail every healthy pod; upstream's
    flannel plugin does not check either."""
    _check_config(conf)
    saved = _saved_path(conf, call.container_id)
    if _load_saved(saved) is None:
        raise CNIError(UNKNOWN_CONTAINER, f"container {call.container_id} was never added "
                       f"to network {conf.get('name')} (no {saved})")
    return b""


def cmd_version(conf: JSONObject) -> bytes:
    version = str(conf.get("cniVersion") or SUPPORTED_VERSIONS[-1])
    return json.dumps({"cniVersion": version,
                       "supportedVersions": list(SUPPORTED_VERSIONS)}).encode()


def handle(environ: Mapping[str, str], stdin: bytes) -> bytes:
    """One CNI call: what to print on success; raises CNIError otherwise."""
    call = invocation(environ)
    conf = parse_config(stdin)
    if call.command == "VERSION":
        return cmd_version(conf)
    if call.command == "ADD":
        return cmd_add(conf, call, environ)
    if call.command == "DEL":
        return cmd_del(conf, call, environ)
    return cmd_check(conf, call)


def main() -> int:
    stdin = sys.stdin.buffer.read()
    try:
        out = handle(os.environ, stdin)
    except CNIError as exc:
        try:
            version = str(json.loads(stdin).get("cniVersion") or SUPPORTED_VERSIONS[-1])
        except (ValueError, AttributeError):
            version = SUPPORTED_VERSIONS[-1]
        sys.stdout.write(json.dumps(exc.to_json(version)) + "\n")
        return 1
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
