"""`kubeadmpy reset`: undo what init/join wrote on this machine."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated

import typer

from kubeadmpy.cli.options import RootDirOption, host_paths
from kubeadmpy.paths import DEFAULT_CERTIFICATES_DIR
from kubeadmpy.phases.reset import ResetContext, reset_workflow

WORKFLOW = reset_workflow()


def reset(
    force: Annotated[
        bool,
        typer.Option("--force", "-f", help="Reset the node without prompting for confirmation."),
    ] = False,
    cert_dir: Annotated[
        str,
        typer.Option(
            "--cert-dir", help="The path to the directory where the certificates are stored."
        ),
    ] = str(DEFAULT_CERTIFICATES_DIR),
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
    ctx = ResetContext(
        paths=host_paths(root_dir),
        certificates_dir=PurePosixPath(cert_dir),
        force=force or dry_run,
        dry_run=dry_run,
        out=typer.echo,
    )
    skip = [name for value in skip_phases or [] for name in value.split(",")]
    WORKFLOW.run(ctx, skip=skip)


reset.__doc__ = (
    f"{reset.__doc__}\n\nThe reset workflow runs these phases:\n\n{WORKFLOW.help_table()}"
)
