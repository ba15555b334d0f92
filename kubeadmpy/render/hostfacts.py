"""Host facts kubeadm consults while rendering, gathered separately so rendering stays pure.

kubeadm copies its own ``*_proxy`` variables into the control-plane pods and mounts the
distribution CA folders that exist on the host. The integrator calls these helpers and passes
the results in `ControlPlaneValues`; tests pass literal values.
"""

from __future__ import annotations

from collections.abc import Mapping

from kubeadmpy.paths import HostPaths
from kubeadmpy.render.components import OPTIONAL_CA_CERT_DIRS
from kubeadmpy.render.values import EnvVar


def proxy_env(environ: Mapping[str, str]) -> tuple[EnvVar, ...]:
    """The non-empty ``*_proxy`` / ``*_PROXY`` variables of `environ`, sorted by name."""
    return tuple(
        EnvVar(name, value)
        for name, value in sorted(environ.items())
        if name.lower().endswith("_proxy") and value
    )


def present_ca_cert_dirs(paths: HostPaths) -> tuple[str, ...]:
    """Which optional CA folders exist on this machine (logical paths)."""
    return tuple(path for path in OPTIONAL_CA_CERT_DIRS if paths.host(path).is_dir())
