"""HTTP probes of the control-plane pods, with kubeadm's timings.

kubeadm gives every component the same probe budget: liveness 8 failures 10 s apart after a
10 s delay, readiness 3 failures 1 s apart, and a startup probe sized to the
controlPlaneComponentHealthCheck timeout (4 min → 24 tries of 10 s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from kubeadmpy.render.values import ControlPlaneValues


@dataclass(frozen=True)
class Probe:
    """An HTTP GET probe; `host` "" means the pod IP (kubelet's default)."""

    path: str
    port: int
    scheme: Literal["HTTP", "HTTPS"]
    host: str
    failure_threshold: int
    period_seconds: int
    initial_delay_seconds: int = 0
    timeout_seconds: int = 15


@dataclass(frozen=True)
class Probes:
    liveness: Probe
    readiness: Probe | None
    startup: Probe


def host_port(host: str, port: int) -> str:
    """Go's net.JoinHostPort: IPv6 literals get brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def probe_host(address: str) -> str:
    """kubeadm probes a wildcard bind address on the pod IP (empty host)."""
    return "" if address in ("0.0.0.0", "::") else address


def kubeadm_probes(values: ControlPlaneValues, *, host: str, port: int,
                   scheme: Literal["HTTP", "HTTPS"], liveness: str, readiness: str | None,
                   startup: str) -> Probes:
    """kubeadm's probe timings: liveness 8x10s, readiness 3x1s, startup sized to the budget."""
    startup_failures = math.ceil(values.health_check_timeout_seconds / 10)
    return Probes(
        liveness=Probe(liveness, port, scheme, host, failure_threshold=8, period_seconds=10,
                       initial_delay_seconds=10),
        readiness=None if readiness is None else Probe(readiness, port, scheme, host,
                                                       failure_threshold=3, period_seconds=1),
        startup=Probe(startup, port, scheme, host, failure_threshold=startup_failures,
                      period_seconds=10, initial_delay_seconds=10),
    )
