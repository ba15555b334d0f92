"""`kubeadmpy kubeconfig` commands: `user` prints a kubeconfig for any user (thin wiring)."""

from __future__ import annotations

from typing import Annotated

import typer

from kubeadmpy import pki
from kubeadmpy.cli.certs_cmd import CertDirOption, cert_dir_on_host, load_config
from kubeadmpy.cli.options import ConfigOption, RootDirOption, host_paths
from kubeadmpy.config import InitFlags
from kubeadmpy.pki import from_config
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
        int | None,
        typer.Option(
            "--apiserver-bind-port", help=f"API server port (default {DEFAULT_BIND_PORT})."
        ),
    ] = None,
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
    """Print a kubeconfig file for an additional user, signed by the cluster CA.

    The server comes from --config when given, else from an existing admin.conf, else from
    --control-plane-endpoint / --apiserver-advertise-address.
    """
    paths = host_paths(root_dir)
    validity = pki.parse_duration(validity_period, "--validity-period")
    if config is not None:
        flags = InitFlags(
            cert_dir=str(cert_dir) if cert_dir else None,
            apiserver_advertise_address=apiserver_advertise_address or None,
            apiserver_bind_port=apiserver_bind_port,
            control_plane_endpoint=control_plane_endpoint or None,
        )
        bundle = load_config(config, flags)
        directory = paths.host(from_config.certificates_dir(bundle))
        settings = from_config.settings_from_config(bundle)
        text = pki.kubeconfig_for_user(client_name, org or [], settings, directory, validity, token)
    else:
        request = pki.UserKubeconfigRequest(
            client_name=client_name,
            organizations=tuple(org or ()),
            validity=validity,
            token=token,
            advertise_address=apiserver_advertise_address,
            bind_port=apiserver_bind_port or DEFAULT_BIND_PORT,
            control_plane_endpoint=control_plane_endpoint,
        )
        directory = cert_dir_on_host(paths, cert_dir)
        text = pki.user_kubeconfig(request, directory, paths.kubernetes_dir)
    typer.echo(text, nl=False)
