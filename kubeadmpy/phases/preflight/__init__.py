"""Preflight checks of `init`, `join` and `reset`, with kubeadm's names, semantics and output.

Usage from a workflow (configuration already defaulted)::

    ctx = init_context(init_cfg, cluster_cfg, paths)
    ignore = ignore_list(flags.ignore_preflight_errors, init_cfg.node_registration)
    report = run_preflight(init_checks(ctx), ignore, out=sys.stdout)

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
from kubeadmpy.phases.preflight.from_config import (
    ignore_list,
    init_context,
    join_context,
    reset_context,
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
    "ignore_list",
    "init_checks",
    "init_context",
    "join_checks",
    "join_context",
    "parse_ignore_list",
    "path_check_name",
    "render_table",
    "reset_checks",
    "reset_context",
    "run_preflight",
]
