"""`kubeadmpy token create|list|delete|generate`: bootstrap tokens, with kubeadm's flags and output."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from kubeadmpy.client import Client, load_kubeconfig
from kubeadmpy.config.defaults import DEFAULT_TOKEN_GROUP, DEFAULT_TOKEN_USAGES, generate_token
from kubeadmpy.phases import apiclient, join_tokens

app = typer.Typer(
    help="Manage bootstrap tokens: the tokens 'kubeadmpy join' uses to trust and enter a cluster.",
    no_args_is_help=True,
)

KubeconfigOption = Annotated[
    Path,
    typer.Option("--kubeconfig", help="The kubeconfig file to use when talking to the cluster."),
]
ADMIN_CONF = Path("/etc/kubernetes/admin.conf")


def _split(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


@app.command()
def create(
    token: Annotated[str | None, typer.Argument(metavar="[TOKEN]", help="The token to create; a random one if not given.")] = None,
    ttl: Annotated[str, typer.Option(help="The duration before the token is automatically deleted (e.g. 1s, 2m, 3h). If set to '0', the token will never expire.")] = "24h",
    description: Annotated[str, typer.Option(help="A human friendly description of how this token is used.")] = "",
    usages: Annotated[list[str] | None, typer.Option(help="Describes the ways in which this token can be used: signing, authentication.")] = None,
    groups: Annotated[list[str] | None, typer.Option(help="Extra groups that this token will authenticate as when used for authentication.")] = None,
    print_join_command: Annotated[bool, typer.Option("--print-join-command", help="Instead of printing only the token, print the full 'kubeadmpy join' flag needed to join the cluster using the token.")] = False,
    kubeconfig: KubeconfigOption = ADMIN_CONF,
) -> None:
    """Create a bootstrap token on the server."""
    options = join_tokens.TokenOptions(
        token=token or generate_token(), ttl=ttl, description=description,
        usages=_split(usages) or DEFAULT_TOKEN_USAGES,
        groups=_split(groups) if groups is not None else (DEFAULT_TOKEN_GROUP,),
    )
    wanted = join_tokens.bootstrap_token(options)
    config = load_kubeconfig(kubeconfig)

    async def go() -> None:
        async with Client(config) as client:
            await join_tokens.create(client, wanted, datetime.now(UTC))

    apiclient.run(go)
    if print_join_command:
        typer.echo(join_tokens.join_command(config, wanted.token))
    else:
        typer.echo(wanted.token)


@app.command(name="list")
def list_tokens(kubeconfig: KubeconfigOption = ADMIN_CONF) -> None:
    """List bootstrap tokens on the server."""
    config = load_kubeconfig(kubeconfig)

    async def go() -> list[list[str]]:
        async with Client(config) as client:
            return await join_tokens.list_rows(client, datetime.now(UTC))

    typer.echo(join_tokens.table(apiclient.run(go)))


@app.command()
def delete(
    tokens: Annotated[list[str], typer.Argument(metavar="[TOKEN-VALUE|TOKEN-ID]...", help="Tokens or token ids to delete.")],
    kubeconfig: KubeconfigOption = ADMIN_CONF,
) -> None:
    """Delete bootstrap tokens on the server."""
    for text in tokens:
        join_tokens.token_id_of(text)  # every argument is checked before anything is deleted
    config = load_kubeconfig(kubeconfig)

    async def go() -> list[str]:
        async with Client(config) as client:
            return [await join_tokens.delete(client, text) for text in tokens]

    for line in apiclient.run(go):
        typer.echo(line)


@app.command()
def generate() -> None:
    """Generate and print a bootstrap token, but do not create it on the server."""
    typer.echo(generate_token())
