"""net-conf.json: flannel's network configuration, parsed and checked before anything runs.

The file is the `net-conf.json` key of upstream's `kube-flannel-cfg` ConfigMap, read from
/etc/kube-flannel/net-conf.json (`--net-config-path`), so the same ConfigMap works with upstream
flanneld and with ours. Go decodes it case-insensitively and ignores unknown keys; we match
keys case-insensitively as well, but an unknown key is an error with a did-you-mean, because a
misspelt `Netwrok` silently ignored is a cluster without a pod network. Options upstream has
and we do not implement (IPv6, DirectRouting, learning, GBP, other backends) are refused by
name instead of being ignored.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from kubeadmpy.errors import ConfigError

DEFAULT_PATH = "/etc/kube-flannel/net-conf.json"
DEFAULT_VNI = 1
DEFAULT_PORT = 8472  # the Linux kernel's VXLAN port; upstream's Port 0 means this
ENCAP_OVERHEAD = 50  # outer IPv4 + UDP + VXLAN + inner Ethernet headers
MIN_MTU = 68 + ENCAP_OVERHEAD  # the device MTU may not go below IPv4's minimum
MAX_VNI = (1 << 24) - 1

TOP_KEYS = ("Network", "SubnetLen", "SubnetMin", "SubnetMax", "EnableIPv4", "EnableIPv6",
            "IPv6Network", "IPv6SubnetLen", "IPv6SubnetMin", "IPv6SubnetMax",
            "EnableNFTables", "Backend")
BACKEND_KEYS = ("Type", "VNI", "Port", "MTU", "GBP", "Learning", "DirectRouting",
                "MacPrefix", "Name")


@dataclass(frozen=True)
class VxlanBackend:
    vni: int = DEFAULT_VNI
    port: int = DEFAULT_PORT
    mtu: int | None = None  # None: the uplink's MTU (the device gets mtu - 50)

    @property
    def device(self) -> str:
        """Upstream's device name, `flannel.<VNI>`."""
        return f"flannel.{self.vni}"


@dataclass(frozen=True)
class NetConf:
    network: ipaddress.IPv4Network
    subnet_len: int
    backend: VxlanBackend
    enable_nftables: bool = False


def parse_net_conf(text: str, source: str = DEFAULT_PATH) -> NetConf:
    """Parse and validate net-conf.json; a `ConfigError` names the key, the value and the fix."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError("net-conf.json", f"is not valid JSON ({exc.msg} at line {exc.lineno} "
                          f"column {exc.colno})", 'Write a JSON object such as {"Network": '
                          '"10.244.0.0/16", "Backend": {"Type": "vxlan"}}', source=source
                          ) from exc
    top = _keys(raw, "net-conf.json", TOP_KEYS, source)
    if _boolean(top, "EnableIPv4", True, source) is False:
        raise ConfigError("EnableIPv4", "false is not supported: kubeadmpy-flanneld runs an "
                          "IPv4 pod network", "Remove EnableIPv4 or set it to true",
                          source=source)
    if _boolean(top, "EnableIPv6", False, source):
        raise ConfigError("EnableIPv6", "IPv6 is not supported by kubeadmpy-flanneld",
                          "Remove EnableIPv6 or set it to false", source=source)
    network = _network(top.get("Network"), source)
    subnet_len = _subnet_len(top.get("SubnetLen"), network, source)
    for key in ("SubnetMin", "SubnetMax"):  # etcd mode only; still must be addresses
        if top.get(key) is not None:
            _address(top[key], key, source)
    backend_raw = top.get("Backend", {})
    backend = _backend(backend_raw, source)
    return NetConf(network, subnet_len, backend,
                   bool(_boolean(top, "EnableNFTables", False, source)))


def _keys(raw: Any, where: str, known: tuple[str, ...], source: str) -> dict[str, Any]:
    """The object's entries under their canonical spelling (Go matches keys ignoring case)."""
    if not isinstance(raw, dict):
        raise ConfigError(where, f"must be a JSON object, got {type(raw).__name__}",
                          f"Write {where} as {{...}}", source=source)
    canonical = {key.lower(): key for key in known}
    result: dict[str, Any] = {}
    prefix = "" if where == "net-conf.json" else f"{where}."
    for key, value in raw.items():
        name = canonical.get(str(key).lower())
        if name is None:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"Did you mean {close[0]!r}?" if close else f"Known keys: {', '.join(known)}"
            raise ConfigError(f"{prefix}{key}", "is not a known key", hint, source=source)
        result[name] = value
    return result


def _boolean(raw: dict[str, Any], key: str, default: bool, source: str,
             prefix: str = "") -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{prefix}{key}", f"{value!r} is not a boolean",
                          "Use true or false", source=source)
    return value


def _network(value: Any, source: str) -> ipaddress.IPv4Network:
    if value is None:
        raise ConfigError("Network", "is missing", 'Set it to the cluster\'s pod CIDR, e.g. '
                          '"10.244.0.0/16" (kubeadm\'s --pod-network-cidr)', source=source)
    if not isinstance(value, str):
        raise ConfigError("Network", f"{value!r} is not a string",
                          'Write a CIDR such as "10.244.0.0/16"', source=source)
    try:
        return ipaddress.IPv4Network(value)
    except ValueError as exc:
        raise ConfigError("Network", f"{value!r} is not an IPv4 network ({exc})",
                          'Write a CIDR such as "10.244.0.0/16" with no host bits set',
                          source=source) from exc


def _subnet_len(value: Any, network: ipaddress.IPv4Network, source: str) -> int:
    if value is None:  # upstream: 24, or two bits below a network smaller than /22
        return 24 if network.prefixlen < 22 else network.prefixlen + 2
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("SubnetLen", f"{value!r} is not a number",
                          "Use a prefix length such as 24", source=source)
    if not network.prefixlen < value <= 30:
        raise ConfigError("SubnetLen", f"{value} does not fit Network {network}",
                          f"Use a prefix length from {network.prefixlen + 1} to 30",
                          source=source)
    return value


def _address(value: Any, key: str, source: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError as exc:
        raise ConfigError(key, f"{value!r} is not an IPv4 address",
                          "Write an address such as \"10.244.10.0\" or remove the key",
                          source=source) from exc


def _integer(raw: dict[str, Any], key: str, low: int, high: int, fix: str,
             source: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"Backend.{key}", f"{value!r} is not a number from {low} to {high}",
                          fix, source=source)
    return value


def _backend(raw: Any, source: str) -> VxlanBackend:
    backend = _keys(raw, "Backend", BACKEND_KEYS, source)
    kind = backend.get("Type", "vxlan")
    if not isinstance(kind, str) or kind.lower() != "vxlan":
        raise ConfigError("Backend.Type", f"{kind!r} is not supported by kubeadmpy-flanneld",
                          'Use "vxlan" (the only backend implemented)', source=source)
    for key in ("GBP", "Learning", "DirectRouting"):
        if _boolean(backend, key, False, source, "Backend."):
            raise ConfigError(f"Backend.{key}", "true is not supported by kubeadmpy-flanneld",
                              f"Remove Backend.{key} or set it to false", source=source)
    vni = _integer(backend, "VNI", 1, MAX_VNI, "Use a VXLAN network id such as 1", source)
    port = _integer(backend, "Port", 0, 65535,
                    "Use a UDP port such as 8472, or 0 for the kernel default", source)
    mtu = _integer(backend, "MTU", MIN_MTU, 65535,
                   f"Use the uplink MTU (e.g. 1500), at least {MIN_MTU}", source)
    return VxlanBackend(vni=vni or DEFAULT_VNI, port=port or DEFAULT_PORT, mtu=mtu)


def load_net_conf(path: str) -> NetConf:
    """Read and parse the file at `path`; a missing or unreadable file is a ConfigError."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError("--net-config-path", f"cannot read {path} ({exc.strerror})",
                          "Mount the kube-flannel-cfg ConfigMap there or pass "
                          "--net-config-path", source=path) from exc
    return parse_net_conf(text, path)
