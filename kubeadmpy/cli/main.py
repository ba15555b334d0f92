"""Entry point of the `kubeadmpy` executable: registers the command groups, maps errors to exits."""

from __future__ import annotations

import sys

import typer

from kubeadmpy import __version__
from kubeadmpy.cli import (
    certs_cmd,
    config_cmd,
    init_cmd,
    join_cmd,
    kubeconfig_cmd,
    lab_cmd,
    remote_cmd,
    reset_cmd,
    token_cmd,
)
from kubeadmpy.errors import KubeadmpyError

app = typer.Typer(
    name="kubeadmpy",
    help="Bootstrap a Kubernetes cluster, kubeadm style.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(init_cmd.app, name="init")
app.add_typer(join_cmd.app, name="join")
app.add_typer(config_cmd.app, name="config")
app.add_typer(certs_cmd.app, name="certs")
app.add_typer(kubeconfig_cmd.app, name="kubeconfig")
app.add_typer(lab_cmd.app, name="lab")
app.add_typer(remote_cmd.app, name="remote")
app.add_typer(token_cmd.app, name="token")
app.command(name="reset")(reset_cmd.reset)


@app.command()
def version(
    output: str = typer.Option("", "-o", "--output", help="Output format: '' or short."),
) -> None:
    """Print the version of kubeadmpy."""
    if output == "short":
        typer.echo(f"v{__version__}")
    elif output == "":
        typer.echo(f'kubeadmpy version: &version.Info{{GitVersion:"v{__version__}"}}')
    else:
        raise KubeadmpyError(f"--output: unsupported format {output!r}; use '' or 'short'")


def main() -> None:
    """Run the CLI; a `KubeadmpyError` becomes a one-paragraph message and a non-zero exit."""
    try:
        app()
    except KubeadmpyError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
