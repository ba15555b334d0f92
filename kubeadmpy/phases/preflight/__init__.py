"""Preflight checks of `init`, `join` and `reset`, with kubeadm's names, semantics and output.

Usage from a workflow::

    ctx = PreflightContext(paths=paths, node_name=name, cri_socket=socket, is_ipv4=True)
    report = run_preflight(init_checks(ctx), ignore={"Swap"}, out=sys.stdout)

`run_preflight` raises `PreflightFailed` (a `PreflightError`) when an error was not ignored.
"""

from kubeadmpy.phases.preflight.check import Check, Findings, path_check_name
from kubeadmpy.phases.preflight.context import (
    DEFAULT_CRI_SOCKET,
    ComponentPorts,
    ExternalEtcd,
    PreflightContext,
    address_families,
)
from kubeadmpy.phases.preflight.report import render_table
from kubeadmpy.phases.preflight.runner import (
    CheckResult,
    PreflightFailed,
    PreflightReport,
    parse_ignore_list,
    run_preflight,
)
from kubeadmpy.phases.preflight.sets import init_checks, join_checks, reset_checks

__all__ = [
    "DEFAULT_CRI_SOCKET",
    "Check",
    "CheckResult",
    "ComponentPorts",
    "ExternalEtcd",
    "Findings",
    "PreflightContext",
    "PreflightFailed",
    "PreflightReport",
    "address_families",
    "init_checks",
    "join_checks",
    "parse_ignore_list",
    "path_check_name",
    "render_table",
    "reset_checks",
    "run_preflight",
]
