"""`kubeadmpy init` and `kubeadmpy init phase ...`, generated from the init workflow's phase tree.

Every phase subcommand takes the same flags as `init`, so `init phase certs all --root-dir X`
computes exactly what a full `init` would. The flags keep kubeadm's names and meaning.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from kubeadmpy.cli.options import ConfigOption, RootDirOption, host_paths
from kubeadmpy.config import InitFlags, load_init_config
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.dry_run import describe_written_files, dry_run_root
from kubeadmpy.phases.init import InitContext, init_workflow
from kubeadmpy.phases.progress import PhaseProgress
from kubeadmpy.phases.workflow import Phase

WORKFLOW = init_workflow()


def _split(values: list[str] | None) -> list[str] | None:
    """kubeadm's list flags take comma-separated values and may be repeated."""
    if not values:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _init_flags_signature(
    config: ConfigOption = None,
    apiserver_advertise_address: Annotated[
        str | None,
        typer.Option(
            help="The IP address the API Server will advertise it's listening on. If not set the default network interface will be used."
        ),
    ] = None,
    apiserver_bind_port: Annotated[
        int | None, typer.Option(help="Port for the API Server to bind to.")
    ] = None,
    apiserver_cert_extra_sans: Annotated[
        list[str] | None,
        typer.Option(
            help="Optional extra Subject Alternative Names (SANs) to use for the API Server serving certificate. Can be both IP addresses and DNS names."
        ),
    ] = None,
    cert_dir: Annotated[
        str | None, typer.Option(help="The path where to save and store the certificates.")
    ] = None,
    certificate_key: Annotated[
        str | None,
        typer.Option(
            help="Key used to encrypt the control-plane certificates in the kubeadm-certs Secret (hex-encoded AES key, 32 bytes)."
        ),
    ] = None,
    control_plane_endpoint: Annotated[
        str | None,
        typer.Option(help="Specify a stable IP address or DNS name for the control plane."),
    ] = None,
    cri_socket: Annotated[
        str | None, typer.Option(help="Path to the CRI socket to connect.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Don't apply any changes; just output what would be done."),
    ] = False,
    feature_gates: Annotated[
        str | None, typer.Option(help="A set of key=value pairs that describe feature gates.")
    ] = None,
    ignore_preflight_errors: Annotated[
        list[str] | None,
        typer.Option(
            help="A list of checks whose errors will be shown as warnings. Example: 'IsPrivilegedUser,Swap'. Value 'all' ignores errors from all checks."
        ),
    ] = None,
    image_repository: Annotated[
        str | None,
        typer.Option(help="Choose a container registry to pull control plane images from."),
    ] = None,
    kubernetes_version: Annotated[
        str | None, typer.Option(help="Choose a specific Kubernetes version for the control plane.")
    ] = None,
    node_name: Annotated[str | None, typer.Option(help="Specify the node name.")] = None,
    patches: Annotated[
        str | None,
        typer.Option(
            help="Path to a directory that contains files named 'target[suffix][+patchtype].extension'."
        ),
    ] = None,
    pod_network_cidr: Annotated[
        str | None,
        typer.Option(
            help="Specify range of IP addresses for the pod network. If set, the control plane will automatically allocate CIDRs for every node."
        ),
    ] = None,
    service_cidr: Annotated[
        str | None, typer.Option(help="Use alternative range of IP address for service VIPs.")
    ] = None,
    service_dns_domain: Annotated[
        str | None, typer.Option(help='Use alternative domain for services, e.g. "myorg.internal".')
    ] = None,
    skip_phases: Annotated[
        list[str] | None, typer.Option(help="List of phases to be skipped.")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="The token to use for establishing bidirectional trust between nodes and control-plane nodes. The format is [a-z0-9]{6}.[a-z0-9]{16}."
        ),
    ] = None,
    token_ttl: Annotated[
        str | None,
        typer.Option(
            help="The duration before the token is automatically deleted (e.g. 1s, 2m, 3h). If set to '0', the token will never expire."
        ),
    ] = None,
    upload_certs: Annotated[
        bool,
        typer.Option(
            "--upload-certs", help="Upload control-plane certificates to the kubeadm-certs Secret."
        ),
    ] = False,
    root_dir: RootDirOption = None,
) -> None:
    """Only a signature: the flags every init command and phase subcommand takes."""


@dataclass
class InitInvocation:
    """The parsed flags of one `init` or `init phase` command line."""

    values: dict[str, Any]

    def flags(self) -> InitFlags:
        v = self.values
        return InitFlags(
            apiserver_advertise_address=v["apiserver_advertise_address"],
            apiserver_bind_port=v["apiserver_bind_port"],
            apiserver_cert_extra_sans=_split(v["apiserver_cert_extra_sans"]),
            cert_dir=v["cert_dir"],
            control_plane_endpoint=v["control_plane_endpoint"],
            pod_network_cidr=v["pod_network_cidr"],
            service_cidr=v["service_cidr"],
            service_dns_domain=v["service_dns_domain"],
            node_name=v["node_name"],
            kubernetes_version=v["kubernetes_version"],
            image_repository=v["image_repository"],
            cri_socket=v["cri_socket"],
            token=v["token"],
            token_ttl=v["token_ttl"],
            feature_gates=v["feature_gates"],
            patches=v["patches"],
            upload_certs=v["upload_certs"] or None,
            certificate_key=v["certificate_key"],
            skip_phases=_split(v["skip_phases"]),
            ignore_preflight_errors=_split(v["ignore_preflight_errors"]),
            dry_run=v["dry_run"] or None,
        )


def run_init(invocation: InitInvocation, only: str | None) -> None:
    """Load configuration, then run the workflow (or one phase subtree)."""
    flags = invocation.flags()
    bundle = load_init_config(invocation.values["config"], flags)
    dry_run = bool(flags.dry_run) or bundle.init.dry_run
    paths = (
        HostPaths(dry_run_root(os.environ))
        if dry_run
        else host_paths(invocation.values["root_dir"])
    )
    for warning in bundle.warnings:
        typer.echo(f"W: {warning}", err=True)
    typer.echo(f"[init] Using Kubernetes version: {bundle.cluster.kubernetes_version}")
    ctx = InitContext(
        bundle=bundle,
        paths=paths,
        dry_run=dry_run,
        ignore_preflight_errors=flags.ignore_preflight_errors or [],
        out=typer.echo,
    )
    skip = flags.skip_phases if flags.skip_phases is not None else bundle.init.skip_phases
    ctx.skip_phases = list(skip or [])
    progress = PhaseProgress("init")
    WORKFLOW.run(
        ctx,
        only=only,
        skip=ctx.skip_phases,
        on_start=progress.on_start,
        on_done=progress.on_done,
    )
    progress.finish()
    if dry_run:
        for line in describe_written_files(paths.root):
            typer.echo(line)


def _with_init_flags(action: Callable[[InitInvocation], None], doc: str) -> Callable[..., None]:
    """A command function taking every init flag, calling `action` with them."""

    def command(**values: Any) -> None:
        action(InitInvocation(values))

    command.__signature__ = inspect.signature(_init_flags_signature, eval_str=True)  # type: ignore[attr-defined]
    command.__annotations__ = dict(_init_flags_signature.__annotations__)
    command.__doc__ = doc
    return command


def _init_callback() -> Callable[..., None]:
    """`kubeadmpy init` itself: runs the workflow unless a subcommand (`phase`) follows."""

    def command(ctx: typer.Context, **values: Any) -> None:
        if ctx.invoked_subcommand is None:
            run_init(InitInvocation(values), only=None)

    flags = inspect.signature(_init_flags_signature, eval_str=True)
    context = inspect.Parameter(
        "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="typer.Context"
    )
    command.__signature__ = flags.replace(parameters=[context, *flags.parameters.values()])  # type: ignore[attr-defined]
    command.__annotations__ = {"ctx": "typer.Context", **_init_flags_signature.__annotations__}
    return command


def _runs(path: str) -> Callable[[InitInvocation], None]:
    def action(invocation: InitInvocation) -> None:
        run_init(invocation, only=path)

    return action


def _phase_app() -> typer.Typer:
    phase_app = typer.Typer(
        help="Use this command to invoke single phase of the init workflow", no_args_is_help=True
    )
    for item in WORKFLOW.flat:
        if item.depth != 0:
            continue
        phase: Phase[InitContext] = item.phase
        if not phase.children:
            phase_app.command(name=phase.name)(_with_init_flags(_runs(item.path), phase.short))
            continue
        group = typer.Typer(help=phase.short, no_args_is_help=True)
        group.command(name="all")(
            _with_init_flags(_runs(item.path), f"Run all {phase.name} phases")
        )
        for child in phase.children:
            child_path = f"{item.path}/{child.name}"
            group.command(name=child.name)(_with_init_flags(_runs(child_path), child.short))
        phase_app.add_typer(group, name=phase.name)
    return phase_app


INIT_HELP = (
    "Run this command in order to set up the Kubernetes control plane.\n\n"
    'The "init" command executes the following phases:\n\n' + "\b\n" + WORKFLOW.help_table()
)

app = typer.Typer(no_args_is_help=False)
app.callback(invoke_without_command=True, help=INIT_HELP)(_init_callback())
app.add_typer(_phase_app(), name="phase")
