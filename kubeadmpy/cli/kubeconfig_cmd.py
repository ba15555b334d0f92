"""`kubeadmpy kubeconfig` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="kubeconfig commands.", no_args_is_help=True)
