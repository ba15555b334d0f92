"""HTTPProxy and HTTPProxyCIDR: would traffic to the cluster's own addresses go through a proxy?

A machine with HTTPS_PROXY set but the API server address or the Service/Pod ranges missing from
NO_PROXY gets a control plane that cannot talk to itself. kubeadm only warns, and so do we. The
decision follows Go's environment rules (what upstream components use): HTTPS_PROXY (or
https_proxy) for https URLs; NO_PROXY (or no_proxy) entries are "*", IPs, CIDRs or domains (a
leading "." or "*." also matches the domain itself); localhost and loopback are never proxied.
Nothing is sent anywhere: this is only a calculation on environment variables.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping

from kubeadmpy.phases.preflight.check import Check, Findings

# kubeadm tests the first address of a range on an arbitrary port.
_PROBE_PORT = 1234


def _env(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name.upper()) or environ.get(name.lower()) or ""


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    host = host.lower().strip("[]")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:
            try:
                if address is not None and address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry_host, entry_port = entry, 0
        if entry.count(":") == 1 or entry.startswith("["):  # host:port or [v6]:port
            head, _, tail = entry.rpartition(":")
            if tail.isdigit() and head:
                entry_host, entry_port = head.strip("[]"), int(tail)
        if entry_port and entry_port != port:
            continue
        try:
            entry_address = ipaddress.ip_address(entry_host)
        except ValueError:
            entry_address = None
        if entry_address is not None:
            if entry_address == address:
                return True
            continue
        domain = entry_host.removeprefix("*")
        if domain.startswith("."):
            if host.endswith(domain) or host == domain[1:]:
                return True
        elif host == domain or host.endswith("." + domain):
            return True
    return False


def https_proxy_for(host: str, port: int = 443, environ: Mapping[str, str] | None = None) -> str:
    """The proxy URL an https request to host:port would use, or "" for a direct connection."""
    env = os.environ if environ is None else environ
    proxy = _env(env, "https_proxy")
    if not proxy or not host:
        return ""
    bare = host.strip("[]")
    if bare.lower() == "localhost":
        return ""
    try:
        if ipaddress.ip_address(bare).is_loopback:
            return ""
    except ValueError:
        pass
    if _bypassed(bare, port, _env(env, "no_proxy")):
        return ""
    return proxy if "://" in proxy else f"http://{proxy}"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def http_proxy(host: str, environ: Mapping[str, str] | None = None) -> Check:
    """Warn when https to `host` (the API server address or endpoint host) is proxied."""

    def run() -> Findings:
        proxy = https_proxy_for(host, 443, environ)
        if not proxy:
            return Findings.ok()
        url = f"https://{_url_host(host)}"
        return Findings.warning(
            f'Connection to "{url}" uses proxy "{proxy}". If that is not intended, add '
            f"{host} to NO_PROXY"
        )

    return Check("HTTPProxy", run, f"https to {host or 'the API server'} goes direct")


def http_proxy_cidr(cidr: str, environ: Mapping[str, str] | None = None) -> Check:
    """Warn when traffic to a Service or Pod range would be proxied (tested on its first IP)."""

    def run() -> Findings:
        text = cidr.strip()
        if not text:
            return Findings.ok()
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return Findings.error(f"error parsing CIDR {text!r}: not an IP range like 10.96.0.0/12")
        if network.num_addresses < 2:
            return Findings.error(f"unable to get the first IP address from {text}")
        first = network[1]
        proxy = https_proxy_for(str(first), _PROBE_PORT, environ)
        if not proxy:
            return Findings.ok()
        return Findings.warning(
            f'connection to "{text}" uses proxy "{proxy}". This may lead to malfunctional '
            "cluster setup. Make sure that Pod and Services IP ranges specified correctly as "
            "exceptions in proxy configuration (NO_PROXY)"
        )

    return Check("HTTPProxyCIDR", run, f"{cidr} is reached without a proxy")
