"""`kubeadmpy certs` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="certs commands.", no_args_is_help=True)
