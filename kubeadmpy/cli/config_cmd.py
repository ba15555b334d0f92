"""`kubeadmpy config` commands: print default documents and validate a config file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kubeadmpy.cli import images_cmd
from kubeadmpy.cli.options import ConfigOption
from kubeadmpy.config import loader, printing
from kubeadmpy.errors import UserInputError
from kubeadmpy.files import write_file

app = typer.Typer(help="Print and validate kubeadm configuration files.", no_args_is_help=True)
print_app = typer.Typer(help="Print default configuration documents.", no_args_is_help=True)
app.add_typer(print_app, name="print")
app.add_typer(images_cmd.app, name="images")

ComponentConfigsOption = Annotated[
    str,
    typer.Option("--component-configs",
                 help="Also print these component configs (comma-separated): "
                      "KubeletConfiguration, KubeProxyConfiguration."),
]


@print_app.command("init-defaults")
def init_defaults(component_configs: ComponentConfigsOption = "") -> None:
    """Print the default documents for `kubeadmpy init --config`."""
    typer.echo(printing.print_defaults("init", component_configs), nl=False)


@print_app.command("join-defaults")
def join_defaults(component_configs: ComponentConfigsOption = "") -> None:
    """Print the default documents for `kubeadmpy join --config`."""
    typer.echo(printing.print_defaults("join", component_configs), nl=False)


@print_app.command("reset-defaults")
def reset_defaults(component_configs: ComponentConfigsOption = "") -> None:
    """Print the default documents for `kubeadmpy reset --config`."""
    typer.echo(printing.print_defaults("reset", component_configs), nl=False)


@app.command("validate")
def validate(config: ConfigOption = None) -> None:
    """Check a config file: print "ok", or every problem with its field and fix (exit 1)."""
    if config is None:
        raise UserInputError("--config", "is required", "Give the file to validate")
    for warning in loader.validate_config_file(config):
        typer.echo(f"warning: {warning}", err=True)
    typer.echo("ok")


@app.command("migrate")
def migrate(
    old_config: Annotated[Path, typer.Option("--old-config", help="A kubeadm.k8s.io/v1beta3 or "
                                             "v1beta4 config file.")],
    new_config: Annotated[Path | None, typer.Option("--new-config", help="Where to write the "
                                                    "v1beta4 file (default: print it).")] = None,
) -> None:
    """Convert a config file to kubeadm.k8s.io/v1beta4 (documents as written, not defaulted)."""
    text = printing.migrate_documents(loader.read_config_file(old_config, "--old-config"), str(old_config))
    if new_config is None:
        typer.echo(text, nl=False)
    else:
        write_file(new_config, text, mode=0o600)
