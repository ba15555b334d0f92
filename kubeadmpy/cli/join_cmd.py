"""`kubeadmpy join [api-server-endpoint]` and `kubeadmpy join phase ...`, from the join phase tree.

kubeadm's `join` takes an optional positional endpoint *and* has a `phase` subcommand; click
cannot have both on one group, so `join` is a group whose hidden default command takes the
endpoint: anything that is not `phase` goes to it. Every phase subcommand takes the same flags.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

from kubeadmpy.cli.options import ConfigOption, RootDirOption, host_paths
from kubeadmpy.config import JoinFlags, load_join_config
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.dry_run import describe_written_files, dry_run_root
from kubeadmpy.phases.join import JOINED_TEXT, JoinContext, check_supported, join_workflow
from kubeadmpy.phases.progress import PhaseProgress

WORKFLOW = join_workflow()
DEFAULT_COMMAND = "node"


def _split(values: list[str] | None) -> list[str] | None:
    """kubeadm's list flags take comma-separated values and may be repeated."""
    if not values:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _join_flags_signature(
    api_server_endpoint: Annotated[
        str | None,
        typer.Argument(metavar="API_SERVER_ENDPOINT", help="host:port of the API server, as printed by 'kubeadmpy init'."),
    ] = None,
    config: ConfigOption = None,
    token: Annotated[
        str | None,
        typer.Option(help="Use this token for both discovery-token and tls-bootstrap-token when those values are not provided."),
    ] = None,
    discovery_token: Annotated[
        str | None,
        typer.Option(help="For token-based discovery, the token used to validate cluster information fetched from the API server."),
    ] = None,
    discovery_token_ca_cert_hash: Annotated[
        list[str] | None,
        typer.Option(help='For token-based discovery, validate that the root CA public key matches this hash (format: "sha256:<hex>"). May be repeated.'),
    ] = None,
    discovery_token_unsafe_skip_ca_verification: Annotated[
        bool,
        typer.Option("--discovery-token-unsafe-skip-ca-verification", help="For token-based discovery, allow joining without --discovery-token-ca-cert-hash pinning."),
    ] = False,
    discovery_file: Annotated[
        str | None,
        typer.Option(help="For file-based discovery, a file or URL from which to load cluster information."),
    ] = None,
    tls_bootstrap_token: Annotated[
        str | None,
        typer.Option(help="Specify the token used to temporarily authenticate with the Kubernetes Control Plane while joining the node."),
    ] = None,
    node_name: Annotated[str | None, typer.Option(help="Specify the node name.")] = None,
    cri_socket: Annotated[
        str | None, typer.Option(help="Path to the CRI socket to connect.")
    ] = None,
    control_plane: Annotated[
        bool,
        typer.Option("--control-plane", help="Create a new control plane instance on this node (not supported yet)."),
    ] = False,
    certificate_key: Annotated[
        str | None,
        typer.Option(help="Use this key to decrypt the certificate secrets uploaded by init (with --control-plane)."),
    ] = None,
    apiserver_advertise_address: Annotated[
        str | None,
        typer.Option(help="If the node should host a new control plane instance, the IP address the API Server will advertise it's listening on."),
    ] = None,
    apiserver_bind_port: Annotated[
        int | None,
        typer.Option(help="If the node should host a new control plane instance, the port for the API Server to bind to."),
    ] = None,
    patches: Annotated[
        str | None,
        typer.Option(help="Path to a directory that contains files named 'target[suffix][+patchtype].extension'."),
    ] = None,
    ignore_preflight_errors: Annotated[
        list[str] | None,
        typer.Option(help="A list of checks whose errors will be shown as warnings. Example: 'IsPrivilegedUser,Swap'. Value 'all' ignores errors from all checks."),
    ] = None,
    skip_phases: Annotated[
        list[str] | None, typer.Option(help="List of phases to be skipped.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Don't apply any changes; just output what would be done."),
    ] = False,
    root_dir: RootDirOption = None,
) -> None:
    """Only a signature: the flags every join command and phase subcommand takes."""


@dataclass
class JoinInvocation:
    """The parsed flags of one `join` or `join phase` command line."""

    values: dict[str, Any]

    def flags(self) -> JoinFlags:
        v = self.values
        return JoinFlags(
            api_server_endpoint=v["api_server_endpoint"],
            token=v["token"],
            discovery_token=v["discovery_token"],
            discovery_token_ca_cert_hash=_split(v["discovery_token_ca_cert_hash"]),
            discovery_token_unsafe_skip_ca_verification=(
                v["discovery_token_unsafe_skip_ca_verification"] or None
            ),
            discovery_file=v["discovery_file"],
            tls_bootstrap_token=v["tls_bootstrap_token"],
            control_plane=v["control_plane"] or None,
            certificate_key=v["certificate_key"],
            apiserver_advertise_address=v["apiserver_advertise_address"],
            apiserver_bind_port=v["apiserver_bind_port"],
            node_name=v["node_name"],
            cri_socket=v["cri_socket"],
            patches=v["patches"],
            skip_phases=_split(v["skip_phases"]),
            ignore_preflight_errors=_split(v["ignore_preflight_errors"]),
            dry_run=v["dry_run"] or None,
        )


def run_join(invocation: JoinInvocation, only: str | None) -> None:
    """Load configuration, then run the workflow (or one phase subtree)."""
    flags = invocation.flags()
    bundle = load_join_config(invocation.values["config"], flags)
    for warning in bundle.warnings:
        typer.echo(f"W: {warning}", err=True)
    check_supported(bundle)
    skip = flags.skip_phases if flags.skip_phases is not None else bundle.join.skip_phases
    WORKFLOW.validate_names(skip or [], "--skip-phases")
    dry_run = bool(flags.dry_run) or bundle.join.dry_run
    paths = (
        HostPaths(dry_run_root(os.environ, "join"))
        if dry_run
        else host_paths(invocation.values["root_dir"])
    )
    ctx = JoinContext(
        bundle=bundle,
        paths=paths,
        dry_run=dry_run,
        ignore_preflight_errors=flags.ignore_preflight_errors or [],
        out=typer.echo,
        skip_phases=list(skip or []),
    )
    progress = PhaseProgress("join")
    WORKFLOW.run(
        ctx, only=only, skip=ctx.skip_phases, on_start=progress.on_start, on_done=progress.on_done
    )
    progress.finish()
    if dry_run:
        for line in describe_written_files(paths.root):
            typer.echo(line)
    elif ctx.joined:
        typer.echo(JOINED_TEXT)


def _with_join_flags(action: Callable[[JoinInvocation], None], doc: str) -> Callable[..., None]:
    def command(**values: Any) -> None:
        action(JoinInvocation(values))

    command.__signature__ = inspect.signature(_join_flags_signature, eval_str=True)  # type: ignore[attr-defined]
    command.__annotations__ = dict(_join_flags_signature.__annotations__)
    command.__doc__ = doc
    return command


def _runs(path: str | None) -> Callable[[JoinInvocation], None]:
    def action(invocation: JoinInvocation) -> None:
        run_join(invocation, only=path)

    return action


class _DefaultJoinCommand(TyperCommand):
    """The hidden default command, shown as `kubeadmpy join [OPTIONS] [API_SERVER_ENDPOINT]`."""

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        parent = ctx.parent.command_path if ctx.parent else "kubeadmpy join"
        formatter.write_usage(parent, " ".join(self.collect_usage_pieces(ctx)))


class _JoinGroup(TyperGroup):
    """`join phase ...` goes to the phase commands; everything else is a whole join."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands or args[0] == DEFAULT_COMMAND:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


def _phase_app() -> typer.Typer:
    phase_app = typer.Typer(
        help="Use this command to invoke single phase of the join workflow", no_args_is_help=True
    )
    for item in WORKFLOW.flat:
        if item.depth != 0:
            continue
        phase = item.phase
        if not phase.children:
            phase_app.command(name=phase.name)(_with_join_flags(_runs(item.path), phase.short))
            continue
        group = typer.Typer(help=phase.short, no_args_is_help=True)
        group.command(name="all")(
            _with_join_flags(_runs(item.path), f"Run all {phase.name} phases")
        )
        for child in phase.children:
            group.command(name=child.name)(
                _with_join_flags(_runs(f"{item.path}/{child.name}"), child.short)
            )
        phase_app.add_typer(group, name=phase.name)
    return phase_app


JOIN_HELP = (
    "Run this on any machine you wish to join an existing cluster.\n\n"
    "Discovery (this node trusting the control plane) reads the cluster-info ConfigMap and "
    "checks its signature with --token and its CA with --discovery-token-ca-cert-hash; the "
    "TLS bootstrap (the control plane trusting this node) lets the kubelet get its own "
    "certificate.\n\n"
    'The "join" command executes the following phases:\n\n' + "\b\n" + WORKFLOW.help_table()
)

app = typer.Typer(cls=_JoinGroup, help=JOIN_HELP, no_args_is_help=False)
app.command(name=DEFAULT_COMMAND, hidden=True, cls=_DefaultJoinCommand, help=JOIN_HELP)(
    _with_join_flags(_runs(None), JOIN_HELP)
)
app.add_typer(_phase_app(), name="phase")
