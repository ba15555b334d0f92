"""`kubeadmpy reset`: undo what init/join wrote on this machine."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated

import typer

from kubeadmpy.cli.options import ConfigOption, RootDirOption, host_paths
from kubeadmpy.config import ResetFlags, load_reset_config
from kubeadmpy.phases.reset import ResetContext, reset_workflow

WORKFLOW = reset_workflow()


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def reset(
    config: ConfigOption = None,
    force: Annotated[
        bool,
        typer.Option("--force", "-f", help="Reset the node without prompting for confirmation."),
    ] = False,
    cert_dir: Annotated[
        str | None,
        typer.Option(
            "--cert-dir", help="The path to the directory where the certificates are stored."
        ),
    ] = None,
    cri_socket: Annotated[
        str | None, typer.Option("--cri-socket", help="Path to the CRI socket to connect.")
    ] = None,
    cleanup_tmp_dir: Annotated[
        bool,
        typer.Option("--cleanup-tmp-dir", help='Cleanup the "/etc/kubernetes/tmp" directory.'),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Don't apply any changes; just output what would be done."),
    ] = False,
    skip_phases: Annotated[
        list[str] | None, typer.Option("--skip-phases", help="List of phases to be skipped.")
    ] = None,
    root_dir: RootDirOption = None,
) -> None:
    """Performs a best effort revert of changes made to this host by 'kubeadmpy init' or 'kubeadmpy join'."""
    flags = ResetFlags(
        cert_dir=cert_dir,
        cri_socket=cri_socket,
        cleanup_tmp_dir=cleanup_tmp_dir or None,
        force=force or None,
        skip_phases=_split(skip_phases),
        dry_run=dry_run or None,
    )
    bundle = load_reset_config(config, flags)
    for warning in bundle.warnings:
        typer.echo(f"W: {warning}", err=True)
    settings = bundle.reset
    ctx = ResetContext(
        paths=host_paths(root_dir),
        certificates_dir=PurePosixPath(settings.certificates_dir),
        force=settings.force or settings.dry_run,
        dry_run=settings.dry_run,
        cri_socket=settings.cri_socket or ResetContext.cri_socket,
        cleanup_tmp_dir=settings.cleanup_tmp_dir,
        out=typer.echo,
    )
    WORKFLOW.run(ctx, skip=settings.skip_phases)


reset.__doc__ = (
    f"{reset.__doc__}\n\nThe reset workflow runs these phases:\n\n{WORKFLOW.help_table()}"
)
