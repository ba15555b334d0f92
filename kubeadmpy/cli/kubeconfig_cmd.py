"""`kubeadmpy kubeconfig` commands: `user` prints a kubeconfig for any user (thin wiring)."""

from __future__ import annotations

from typing import Annotated

import typer

from kubeadmpy import pki
from kubeadmpy.cli.certs_cmd import CertDirOption, cert_dir_on_host
from kubeadmpy.cli.options import ConfigOption, RootDirOption, host_paths
from kubeadmpy.errors import UserInputError
from kubeadmpy.pki.settings import DEFAULT_BIND_PORT

app = typer.Typer(help="Kubeconfig file utilities.", no_args_is_help=True)


@app.command("user")
def user(
    client_name: Annotated[
        str, typer.Option("--client-name", help="The name of the user (certificate CN).")
    ],
    org: Annotated[
        list[str] | None,
        typer.Option("--org", help="An organization (group) of the user; repeatable."),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="Authenticate with this token, not a cert.")
    ] = None,
    validity_period: Annotated[
        str, typer.Option("--validity-period", help="Validity of the client certificate.")
    ] = "8760h",
    apiserver_advertise_address: Annotated[
        str,
        typer.Option(
            "--apiserver-advertise-address",
            help="API server IP, used when there is no admin.conf to take the server from.",
        ),
    ] = "",
    apiserver_bind_port: Annotated[
        int, typer.Option("--apiserver-bind-port", help="API server port.")
    ] = DEFAULT_BIND_PORT,
    control_plane_endpoint: Annotated[
        str,
        typer.Option(
            "--control-plane-endpoint",
            help="host[:port] of the API server, used when there is no admin.conf.",
        ),
    ] = "",
    cert_dir: CertDirOption = None,
    root_dir: RootDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Print a kubeconfig file for an additional user, signed by the cluster CA."""
    if config is not None:
        # kubeadmpy.config has not landed yet: refuse --config rather than silently ignore it.
        raise UserInputError(
            "--config",
            "is not supported by this command yet",
            "Pass --control-plane-endpoint / --apiserver-advertise-address instead",
        )
    paths = host_paths(root_dir)
    request = pki.UserKubeconfigRequest(
        client_name=client_name,
        organizations=tuple(org or ()),
        validity=pki.parse_duration(validity_period, "--validity-period"),
        token=token,
        advertise_address=apiserver_advertise_address,
        bind_port=apiserver_bind_port,
        control_plane_endpoint=control_plane_endpoint,
    )
    text = pki.user_kubeconfig(request, cert_dir_on_host(paths, cert_dir), paths.kubernetes_dir)
    typer.echo(text, nl=False)
